import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type CompileOptions, type CompileResult, compileSpec } from "../compile.ts";
import { findProjectRoot } from "./project-root.ts";

/** Reads and compiles a spec file; an unreadable file is a diagnostic, not an exception. */
export async function compileSpecFile(
  path: string,
  options: Pick<CompileOptions, "splitLimit"> = {},
): Promise<CompileResult & { text?: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    return {
      diagnostics: [
        {
          code: "YAML_SYNTAX",
          severity: "error",
          path: [],
          message: `cannot read the spec: ${reason}`,
          line: 1,
          col: 1,
        },
      ],
    };
  }
  const root = findProjectRoot(dirname(resolve(path)));
  return {
    ...compileSpec(text, { ...options, fileExists: (file) => existsSync(join(root, file)) }),
    text,
  };
}
