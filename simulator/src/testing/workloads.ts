import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root (this file is `simulator/src/testing/workloads.ts`). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The WfCommons instances shared next to the repository
 * (`../shared/workloads/wfcommons` from the repository root). Missing is a
 * failure, never a skip.
 */
export function wfcommonsInstances(): { dir: string; files: string[] } {
  const dir = fileURLToPath(new URL("../../../../shared/workloads/wfcommons/", import.meta.url));
  if (!existsSync(dir))
    throw new Error(
      `WfCommons instances not found at ${dir}: the repository must sit next to shared/workloads/wfcommons`,
    );
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`no WfCommons instances (*.json) in ${dir}`);
  return { dir, files };
}
