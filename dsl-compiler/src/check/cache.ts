import { type CheckRule, error, everyStep } from "./rule.ts";

/**
 * `cache:` on an HTTP step would do nothing: Step Functions calls the
 * endpoint itself, so no Ferry worker sees the call to answer it from the
 * cache. Refused rather than silently ignored (`defaults.cache` skips them).
 */
export const checkCache: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path }) => {
    const enabled = typeof step.cache === "object" ? step.cache.enabled : step.cache;
    if (!step.http || !enabled) return [];
    return [
      error(
        "UNCACHEABLE_STEP",
        [...path, "cache"],
        `step "${step.name}" is an http step, which Step Functions calls directly: there is no worker to answer it from the cache`,
        "remove cache: from this step (an HTTP call is usually not deterministic anyway), or call the endpoint from a function step",
      ),
    ];
  });
