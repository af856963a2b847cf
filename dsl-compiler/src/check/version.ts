import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { LATEST_SPEC_VERSION, SPEC_VERSIONS, type WorkflowSpec } from "../schema/spec.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";
import { secretPaths } from "./secrets.ts";

/** Spec paths of the fields that language 1.1 added; a spec that says 1.0 (or nothing) may not use them. */
export function fieldsNeeding11(spec: WorkflowSpec): Array<ReadonlyArray<string | number>> {
  const paths: Array<ReadonlyArray<string | number>> = [];
  for (const key of ["input", "handlers", "finally", "triggers", "notify"] as const)
    if (spec[key] !== undefined) paths.push([key]);
  if (spec.defaults?.onFailure !== undefined) paths.push(["defaults", "onFailure"]);
  if (spec.defaults?.cache !== undefined) paths.push(["defaults", "cache"]);
  spec.steps.forEach((step, i) => {
    if (typeof step.cache === "object" && step.cache.ttl !== undefined)
      paths.push(["steps", i, "cache", "ttl"]);
    if (step.onFailure !== undefined) paths.push(["steps", i, "onFailure"]);
    if (step.container?.allowHost !== undefined) paths.push(["steps", i, "container", "allowHost"]);
    for (const key of ["files", "records", "format", "toleratedFailurePercentage", "batch"] as const)
      if (step.foreach?.[key] !== undefined) paths.push(["steps", i, "foreach", key]);
  });
  // `{ secret: … }` env values and headers (the step paths of handlers and finally steps are 1.1 already).
  for (const { step, path } of everyStep(spec)) {
    if (path[0] === "steps") for (const use of secretPaths(step, path)) paths.push(use.path.slice(0, -1));
  }
  return paths;
}

/** `"1.10"` → [1, 10]; undefined when not a version. */
function parts(version: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * A spec written for a newer language than this Ferry reads. Checked on the
 * raw document, before the schema: the newer fields it uses would otherwise
 * show up as a list of "unknown field" errors that hide the real problem.
 */
export function checkNewerVersion(value: unknown): Diagnostic | undefined {
  if (value === null || typeof value !== "object" || !("version" in value)) return undefined;
  const version = (value as { version: unknown }).version;
  if (typeof version !== "string") return undefined;
  const got = parts(version);
  const latest = parts(LATEST_SPEC_VERSION)!;
  if (!got || (got[0] === latest[0] ? got[1] <= latest[1] : got[0] < latest[0])) return undefined;
  return error(
    "UNSUPPORTED_VERSION",
    ["version"],
    `the spec is written for language version ${version}; this Ferry reads versions up to ${LATEST_SPEC_VERSION}`,
    "upgrade Ferry, or rewrite the spec for an older version",
  );
}

/** The version is one this Ferry knows, and a 1.0 spec uses no 1.1 field. */
export const checkVersion: CheckRule = (spec) => {
  const version = spec.version ?? "1.0";
  if (!(SPEC_VERSIONS as readonly string[]).includes(version)) {
    return [
      error(
        "UNSUPPORTED_VERSION",
        ["version"],
        `unknown language version "${version}"`,
        `use one of: ${SPEC_VERSIONS.join(", ")}`,
      ),
    ];
  }
  if (version !== "1.0") return [];
  return fieldsNeeding11(spec).map((path) =>
    error(
      "NEEDS_VERSION",
      path,
      `is a language 1.1 field, but the spec ${spec.version ? 'says version "1.0"' : "declares no version (1.0)"}`,
      `add version: "${LATEST_SPEC_VERSION}" at the top of the spec`,
    ),
  );
};
