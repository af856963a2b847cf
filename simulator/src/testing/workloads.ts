import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root (this file is `simulator/src/testing/workloads.ts`). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The WfCommons instances vendored in the repository (`test/data/wfcommons`).
 * Missing is a failure, never a skip.
 */
export function wfcommonsInstances(): { dir: string; files: string[] } {
  const dir = fileURLToPath(new URL("../../../test/data/wfcommons/", import.meta.url));
  if (!existsSync(dir))
    throw new Error(
      `WfCommons instances not found at ${dir}: the vendored instances under test/data/wfcommons are missing`,
    );
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`no WfCommons instances (*.json) in ${dir}`);
  return { dir, files };
}
