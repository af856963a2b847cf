import { type CheckRule, error, everyStep } from "./rule.ts";

/**
 * Function handler files must exist. The compiler does no I/O itself: the
 * caller passes `fileExists`, resolving paths against the project folder.
 */
export function checkHandlerFiles(fileExists: (path: string) => boolean): CheckRule {
  return (spec) =>
    everyStep(spec).flatMap(({ step, path: at }) => {
      const handler = step.function?.handler;
      if (!handler) return [];
      const file = handler.split("#")[0]!;
      return fileExists(file)
        ? []
        : [
            error(
              "FUNCTION_NOT_FOUND",
              [...at, "function", "handler"],
              `handler file "${file}" does not exist`,
              "paths are relative to the project folder (the nearest folder with a package.json)",
            ),
          ];
    });
}
