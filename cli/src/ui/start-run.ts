import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import {
  compileSpecFile,
  formatPath,
  hasErrors,
  validateWorkflowInput,
  type WorkflowIr,
} from "@ferry/dsl-compiler";
import type { InputProblem, StartableSpec } from "./run-view.ts";

/** Folders the spec search does not enter: built output, dependencies, Ferry's own state. */
const SKIPPED = new Set(["node_modules", "dist", "cdk.out", "build", "coverage"]);
/** How deep under the project the page looks for specs. */
const MAX_DEPTH = 3;
/** Larger input belongs in a file given to `ferry run --input-file`, not a text box. */
export const MAX_START_INPUT_BYTES = 256 * 1024;

/**
 * The project's workflow specs the page can start: YAML files under the
 * project (hidden folders and dependencies left out) that compile without
 * errors, each with its `input:` schema for the form.
 */
export async function startableSpecs(projectDir: string): Promise<StartableSpec[]> {
  const files: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      if (e.isDirectory() && depth < MAX_DEPTH && !SKIPPED.has(e.name))
        await walk(join(dir, e.name), depth + 1);
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) files.push(join(dir, e.name));
    }
  };
  await walk(projectDir, 0);
  const specs = await Promise.all(
    files.sort().map(async (file) => {
      const loaded = await compileSpecFile(file).catch(() => undefined);
      if (!loaded?.compiled || hasErrors(loaded.diagnostics)) return undefined;
      const { ir } = loaded.compiled;
      return {
        specFile: relative(projectDir, file).split(sep).join("/"),
        workflow: ir.name,
        ...(ir.input ? { inputSchema: ir.input } : {}),
      } satisfies StartableSpec;
    }),
  );
  return specs.filter((s) => s !== undefined);
}

export type StartCheck =
  | { ok: true; specFile: string; ir: WorkflowIr; input: unknown }
  | { ok: false; error: string; problems: InputProblem[] };

/**
 * Checks a start request from the page before anything runs: the spec lies
 * inside the project and compiles, the input is JSON and matches the spec's
 * `input:` schema (the validator `ferry run` and `ferry start` use).
 */
export async function checkStart(
  projectDir: string,
  specFile: unknown,
  inputText: unknown,
): Promise<StartCheck> {
  const refuse = (error: string, problems: InputProblem[] = []): StartCheck => ({
    ok: false,
    error,
    problems,
  });
  if (typeof specFile !== "string" || specFile === "") return refuse("name a spec file of the project");
  if (typeof inputText !== "string") return refuse("input must be a JSON text");
  if (Buffer.byteLength(inputText) > MAX_START_INPUT_BYTES)
    return refuse(
      `input is ${Buffer.byteLength(inputText)} bytes, over the page's ${MAX_START_INPUT_BYTES}: use ferry run --input-file`,
    );
  const path = resolve(projectDir, specFile);
  const inside = relative(projectDir, path);
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside))
    return refuse(`spec ${specFile} is outside the project`);
  const loaded = await compileSpecFile(path).catch((error: Error) => error);
  if (loaded instanceof Error) return refuse(`spec ${specFile}: ${loaded.message}`);
  if (!loaded.compiled || hasErrors(loaded.diagnostics))
    return refuse(`spec ${specFile} does not compile: run ferry validate ${specFile}`);
  let input: unknown;
  try {
    input = JSON.parse(inputText === "" ? "{}" : inputText);
  } catch (error) {
    return refuse(`input is not JSON: ${(error as Error).message}`);
  }
  const problems = validateWorkflowInput(loaded.compiled.ir, input);
  if (problems.length > 0)
    return refuse(
      `input does not match the input: schema of ${specFile}`,
      problems.map((d) => ({
        path: formatPath(d.path),
        message: d.message,
        ...(d.hint ? { hint: d.hint } : {}),
      })),
    );
  return { ok: true, specFile: inside.split(sep).join("/"), ir: loaded.compiled.ir, input };
}
