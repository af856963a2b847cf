import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { FunctionError } from "../errors.ts";

/**
 * Imports a function step's module (`file` relative to the project root, as
 * the spec names it) and returns its `exportName` export unchecked: like
 * Lambda, the adapter checks it when the step runs. TypeScript files need
 * a loader such as tsx, which the `ferry` CLI registers.
 */
export async function loadStepHandler(
  projectRoot: string,
  file: string,
  exportName: string,
): Promise<unknown> {
  const path = resolve(projectRoot, file);
  if (!existsSync(path)) {
    throw new FunctionError(
      "INVALID_CONFIG",
      "Ferry.RuntimeError",
      `function handler file not found: ${path} (from "${file}#${exportName}", relative to ${projectRoot}); fix the step's function.handler`,
    );
  }
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  return module[exportName];
}
