import { unsafePathReason } from "../contract/relative-path.ts";
import { handlerFile } from "./paths.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/**
 * Function handler files must exist. The compiler does no I/O itself: the
 * caller passes `fileExists`, resolving paths against the project folder.
 * Paths that leave the project are `checkPaths`' to report, and never looked up.
 */
export function checkHandlerFiles(fileExists: (path: string) => boolean): CheckRule {
  return (spec) =>
    everyStep(spec).flatMap(({ step, path: at }) => {
      const handler = step.function?.handler;
      if (!handler) return [];
      const file = handlerFile(handler);
      return unsafePathReason(file) !== undefined || fileExists(file)
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
