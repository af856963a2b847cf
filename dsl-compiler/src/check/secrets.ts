import { parseSecretRef, SECRET_REF_FORMS, secretUses } from "../contract/secrets.ts";
import { RUNTIME_KINDS, type SideStepSpec, type StepSpec } from "../schema/spec.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/** Each `{ secret: … }` of a step with its spec path (`steps[0].process.env.API_KEY.secret`). */
export function secretPaths(
  step: StepSpec | SideStepSpec,
  at: ReadonlyArray<string | number>,
): Array<{ ref: string; field: "env" | "headers"; key: string; path: Array<string | number> }> {
  const found = [];
  for (const kind of RUNTIME_KINDS) {
    const runtime = step[kind] as
      | { env?: Record<string, unknown>; headers?: Record<string, unknown> }
      | undefined;
    if (!runtime) continue;
    for (const use of secretUses({ kind, ...runtime } as Parameters<typeof secretUses>[0])) {
      found.push({ ...use, path: [...at, kind, use.field, use.key, "secret"] });
    }
  }
  return found;
}

/**
 * Secret references are well formed (`ssm:/name`, `secretsmanager:name`,
 * `secretsmanager:name#key`), and an HTTP step on an aws site references
 * Secrets Manager only: its headers are sent by an EventBridge connection,
 * filled by CloudFormation, which cannot read SSM SecureStrings there.
 */
export const checkSecrets: CheckRule = (spec) => [...notifySecretRule(spec), ...stepSecretRules(spec)];

/** `notify.http.secret`, the callback's signing key. */
const notifySecretRule: CheckRule = (spec) => {
  const ref = spec.notify?.http?.secret.secret;
  if (ref === undefined) return [];
  const parsed = parseSecretRef(ref);
  if (typeof parsed !== "string") return [];
  return [
    error(
      "INVALID_SECRET_REF",
      ["notify", "http", "secret", "secret"],
      `"${ref}" is not a secret reference: ${parsed}`,
      `write one of ${SECRET_REF_FORMS.join(", ")}`,
    ),
  ];
};

const stepSecretRules: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path: at }) =>
    secretPaths(step, at).flatMap(({ ref, field, key, path }) => {
      const parsed = parseSecretRef(ref);
      if (typeof parsed === "string") {
        return [
          error(
            "INVALID_SECRET_REF",
            path,
            `"${ref}" is not a secret reference: ${parsed}`,
            `write one of ${SECRET_REF_FORMS.join(", ")}`,
          ),
        ];
      }
      if (field === "headers" && parsed.service === "ssm" && spec.sites[step.site]?.type === "aws") {
        return [
          error(
            "UNSUPPORTED_SECRET",
            path,
            `header ${key} of step "${step.name}" references an SSM parameter, but an HTTP step on aws site "${step.site}" is sent by Step Functions through an EventBridge connection, which takes secrets from Secrets Manager only`,
            'store the value in Secrets Manager and write { secret: "secretsmanager:name" }, or place the step on an edge site',
          ),
        ];
      }
      return [];
    }),
  );
