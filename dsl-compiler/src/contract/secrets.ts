/**
 * Secret references: a step's env value or HTTP header written as
 * `{ secret: "<reference>" }` instead of a string (spec 1.1). Only the
 * reference travels through the ASL, the template and the manifest; the value
 * is read at run time by whoever runs the step, and kept in memory only.
 *
 * - `ssm:<parameter name>`: an SSM parameter, read with decryption
 *   (SecureString), e.g. `ssm:/ferry/api-key`.
 * - `secretsmanager:<secret name>` or `secretsmanager:<secret name>#<json key>`:
 *   a Secrets Manager secret's SecretString, or one key of it when it is a
 *   JSON object, e.g. `secretsmanager:ferry/db#password`.
 */

/** The spec's form of a secret-valued env variable or header. */
export interface SecretValueRef {
  secret: string;
}

/** An env value or header value: plain text, or a secret reference. */
export type MaybeSecret = string | SecretValueRef;

export type ParsedSecretRef =
  | { service: "ssm"; name: string }
  | { service: "secretsmanager"; name: string; jsonKey?: string };

/** SSM parameter names: letters, digits and `_.-/`, at most 1011 characters; a path starts with `/`. */
const SSM_NAME = /^[a-zA-Z0-9_.\-/]{1,1011}$/;
/** Secrets Manager names: letters, digits and `/_+=.@-`, at most 512 characters. */
const SECRET_NAME = /^[a-zA-Z0-9/_+=.@-]{1,512}$/;

export const SECRET_REF_FORMS = [
  '"ssm:/path/name"',
  '"secretsmanager:name"',
  '"secretsmanager:name#jsonKey"',
];

export function isSecretValue(value: unknown): value is SecretValueRef {
  return (
    typeof value === "object" && value !== null && typeof (value as { secret?: unknown }).secret === "string"
  );
}

/** Parses a reference; a string explains what is wrong with one that is not valid. */
export function parseSecretRef(ref: string): ParsedSecretRef | string {
  const colon = ref.indexOf(":");
  const scheme = colon < 0 ? "" : ref.slice(0, colon);
  const rest = colon < 0 ? "" : ref.slice(colon + 1);
  if (scheme === "ssm") {
    if (!SSM_NAME.test(rest))
      return "an SSM parameter name is 1–1011 characters of letters, digits and _ . - /";
    if (rest.includes("/") && !rest.startsWith("/"))
      return "an SSM parameter path must start with '/' (e.g. ssm:/ferry/api-key)";
    if (/^\/?(aws|ssm)/i.test(rest)) return "SSM parameter names may not begin with aws or ssm";
    if (rest.includes("//") || rest.endsWith("/")) return "an SSM parameter path has an empty segment";
    return { service: "ssm", name: rest };
  }
  if (scheme === "secretsmanager") {
    const hash = rest.indexOf("#");
    const name = hash < 0 ? rest : rest.slice(0, hash);
    const jsonKey = hash < 0 ? undefined : rest.slice(hash + 1);
    if (!SECRET_NAME.test(name))
      return "a Secrets Manager secret name is 1–512 characters of letters, digits and / _ + = . @ -";
    if (jsonKey !== undefined && !/^[^\s#]{1,256}$/.test(jsonKey))
      return "the JSON key after '#' must be 1–256 characters without spaces or '#'";
    return jsonKey === undefined
      ? { service: "secretsmanager", name }
      : { service: "secretsmanager", name, jsonKey };
  }
  return `a secret reference starts with "ssm:" or "secretsmanager:"`;
}

/** Where a runtime's secret references are: `env` values and HTTP `headers`. */
export interface SecretUse {
  field: "env" | "headers";
  key: string;
  ref: string;
}

/** The secret references of a step's runtime (env values, HTTP headers), in key order. */
export function secretUses(runtime: {
  kind: string;
  env?: Record<string, MaybeSecret>;
  headers?: Record<string, MaybeSecret>;
}): SecretUse[] {
  const uses: SecretUse[] = [];
  for (const field of ["env", "headers"] as const) {
    for (const [key, value] of Object.entries(runtime[field] ?? {})) {
      if (isSecretValue(value)) uses.push({ field, key, ref: value.secret });
    }
  }
  return uses;
}

/**
 * The name of the environment variable `ferry run` reads a secret from when
 * it cannot (or should not) ask AWS: `FERRY_SECRET_` and the reference in
 * upper case with every other character `_`, e.g. `ssm:/ferry/api-key` →
 * `FERRY_SECRET_SSM__FERRY_API_KEY`.
 */
export function secretOverrideEnvName(ref: string): string {
  return `FERRY_SECRET_${ref.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The ARN IAM authorizes reading the reference against (Secrets Manager adds `-??????` to a name). */
export function secretResourceArn(
  ref: ParsedSecretRef,
  where: { partition: string; region: string; account: string },
): string {
  const { partition, region, account } = where;
  if (ref.service === "ssm") {
    return `arn:${partition}:ssm:${region}:${account}:parameter/${ref.name.replace(/^\//, "")}`;
  }
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${ref.name}-??????`;
}

/** The replacement of a secret value in logs and failure causes. */
export const REDACTED = "***";

/** `text` with every occurrence of each value replaced by `***`; longer values first, so none is half-replaced. */
export function redactSecrets(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of [...values].filter((v) => v.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(value).join(REDACTED);
  }
  return out;
}

/** A JSON value with {@link redactSecrets} applied to every string in it (keys included). */
export function redactSecretsDeep<T>(value: T, values: readonly string[]): T {
  if (values.length === 0) return value;
  if (typeof value === "string") return redactSecrets(value, values) as T;
  if (Array.isArray(value)) return value.map((v) => redactSecretsDeep(v, values)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactSecrets(k, values), redactSecretsDeep(v, values)]),
    ) as T;
  }
  return value;
}

/**
 * The Lambda environment variable listing a function step's secret env
 * variables as JSON `{ "NAME": "<reference>" }`: references only, which the
 * step adapter resolves into `process.env` before the handler runs.
 */
export const FUNCTION_SECRETS_ENV = "FERRY_SECRETS";

/** An env map split into its plain values and its secret references (name → reference). */
export function splitSecretEnv(env: Record<string, MaybeSecret>): {
  plain: Record<string, string>;
  refs: Record<string, string>;
} {
  const plain: Record<string, string> = {};
  const refs: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (isSecretValue(value)) refs[key] = value.secret;
    else plain[key] = value;
  }
  return { plain, refs };
}
