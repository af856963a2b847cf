import { unsafePathReason } from "../contract/relative-path.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/** The file part of `function.handler` (`path/to/file.ts#export`). */
export function handlerFile(handler: string): string {
  return handler.split("#")[0]!;
}

/**
 * Job-file names stay inside the job folder and handler files inside the
 * project: no absolute paths, no `..` out, no backslashes, control
 * characters or empty segments. The agent applies the same rule
 * (`unsafePathReason`) at run time; this refuses such names at validate.
 */
export const checkPaths: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path: at }) => {
    const jobFiles = (["inputs", "outputs"] as const).flatMap((field) =>
      (step[field] ?? []).flatMap((name, j) => {
        const reason = unsafePathReason(name);
        return reason
          ? [
              error(
                "UNSAFE_PATH",
                [...at, field, j],
                `job file "${printable(name)}" ${reason}`,
                'name job files relative to the job folder with / between folders, e.g. "out/result.json"',
              ),
            ]
          : [];
      }),
    );
    const handler = step.function?.handler;
    const reason = handler === undefined ? undefined : unsafePathReason(handlerFile(handler));
    const handlerDiagnostics = reason
      ? [
          error(
            "UNSAFE_PATH",
            [...at, "function", "handler"],
            `handler file "${printable(handlerFile(handler!))}" ${reason}`,
            'name the file relative to the project folder (the nearest folder with a package.json), e.g. "src/handlers.ts#load"',
          ),
        ]
      : [];
    return [...jobFiles, ...handlerDiagnostics];
  });

/** The name with control characters escaped, so a diagnostic never carries them to the terminal. */
function printable(name: string): string {
  return JSON.stringify(name).slice(1, -1);
}
