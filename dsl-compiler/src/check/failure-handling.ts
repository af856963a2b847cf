import { didYouMean } from "../diagnostics/did-you-mean.ts";
import { type CheckRule, error } from "./rule.ts";

const BUILT_IN = new Set(["fail", "continue"]);

/** `onFailure` names a step under `handlers:`, and every handler is named by some `onFailure`. */
export const checkFailureHandling: CheckRule = (spec) => {
  const handlers = new Set((spec.handlers ?? []).map((h) => h.name));
  const others = new Set([...spec.steps, ...(spec.finally ?? [])].map((s) => s.name));
  const used = new Set<string>();
  const refs: Array<{ value: string; path: ReadonlyArray<string | number> }> = [];
  if (spec.defaults?.onFailure)
    refs.push({ value: spec.defaults.onFailure, path: ["defaults", "onFailure"] });
  spec.steps.forEach((s, i) => {
    if (s.onFailure) refs.push({ value: s.onFailure, path: ["steps", i, "onFailure"] });
  });
  const out = refs.flatMap(({ value, path }) => {
    if (BUILT_IN.has(value)) return [];
    used.add(value);
    if (handlers.has(value)) return [];
    return [
      error(
        "UNKNOWN_HANDLER",
        path,
        others.has(value)
          ? `"${value}" is a step of the workflow, not a failure handler`
          : `unknown failure handler "${value}"`,
        others.has(value)
          ? `move "${value}" under handlers: (a handler runs only when a step fails)`
          : (didYouMean(value, [...handlers, ...BUILT_IN]) ??
              'use "fail", "continue", or declare the handler under handlers:'),
      ),
    ];
  });
  (spec.handlers ?? []).forEach((h, i) => {
    if (!used.has(h.name))
      out.push(
        error(
          "UNUSED_HANDLER",
          ["handlers", i, "name"],
          `no step names handler "${h.name}" in onFailure, so it would never run`,
          `set onFailure: ${h.name} on the steps it handles (or in defaults), or remove it`,
        ),
      );
  });
  return out;
};
