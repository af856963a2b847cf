import type { SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import type { SSMClient } from "@aws-sdk/client-ssm";
import {
  isSecretValue,
  type MaybeSecret,
  parseSecretRef,
  secretOverrideEnvName,
} from "@ferry/dsl-compiler/contract";

/** Reads the value behind a secret reference (`ssm:…`, `secretsmanager:…`). */
export interface SecretResolver {
  resolve(ref: string): Promise<string>;
}

/** A reference that could not be read; its message names the reference, never a value. */
export class SecretError extends Error {
  override readonly name = "SecretError";
  /** Reported to Step Functions as a runtime error: a permission or a parameter may be fixed before a retry. */
  readonly taskError = "Ferry.RuntimeError";
  constructor(
    readonly ref: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** @default 60 — how long a resolved value is kept in memory before it is read again. */
export const DEFAULT_SECRET_CACHE_SECONDS = 60;
/** Environment variable that sets the cache time, in seconds (0: read every time). */
export const SECRET_CACHE_SECONDS_ENV = "FERRY_SECRET_CACHE_SECONDS";

/** The cache time from `FERRY_SECRET_CACHE_SECONDS`, or the default. */
export function secretCacheSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SECRET_CACHE_SECONDS_ENV];
  if (raw === undefined || raw === "") return DEFAULT_SECRET_CACHE_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(
      `${SECRET_CACHE_SECONDS_ENV} must be a number of seconds ≥ 0, got ${JSON.stringify(raw)}`,
    );
  }
  return seconds;
}

export interface AwsSecretResolverOptions {
  /** Clients to use; by default they are created on first use from `clientConfig` (the SDK is loaded only then). */
  ssm?: Pick<SSMClient, "send" | "destroy">;
  secretsManager?: Pick<SecretsManagerClient, "send" | "destroy">;
  /** Region, endpoint, credentials of the clients created on first use. */
  clientConfig?: SecretsManagerClientConfig;
  /** Applied to each client created here (the AWS call recorder). */
  wrap?: <C>(client: C) => C;
  /** @default DEFAULT_SECRET_CACHE_SECONDS */
  cacheSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

type Clients = {
  ssm: Pick<SSMClient, "send" | "destroy">;
  secretsManager: Pick<SecretsManagerClient, "send" | "destroy">;
  commands: {
    GetParameterCommand: typeof import("@aws-sdk/client-ssm").GetParameterCommand;
    GetSecretValueCommand: typeof import("@aws-sdk/client-secrets-manager").GetSecretValueCommand;
  };
};

/**
 * Reads SSM parameters (GetParameter WithDecryption, so SecureStrings come
 * back in clear) and Secrets Manager secrets (GetSecretValue, then the JSON
 * key when the reference names one). Values are cached in memory only, for
 * `cacheSeconds`; concurrent reads of one reference share one call.
 */
export class AwsSecretResolver implements SecretResolver {
  private readonly cache = new Map<string, { expires: number; value: Promise<string> }>();
  private readonly cacheMs: number;
  private readonly now: () => number;
  private clients: Promise<Clients> | undefined;

  constructor(private readonly options: AwsSecretResolverOptions = {}) {
    this.cacheMs = (options.cacheSeconds ?? DEFAULT_SECRET_CACHE_SECONDS) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** A resolver whose clients are created, on first use, with `clientConfig` (region, endpoint, credentials). */
  static fromConfig(
    clientConfig: SecretsManagerClientConfig,
    wrap?: <C>(client: C) => C,
    cacheSeconds?: number,
  ): AwsSecretResolver {
    return new AwsSecretResolver({
      clientConfig,
      ...(wrap ? { wrap } : {}),
      ...(cacheSeconds !== undefined ? { cacheSeconds } : {}),
    });
  }

  resolve(ref: string): Promise<string> {
    const now = this.now();
    const hit = this.cache.get(ref);
    if (hit && hit.expires > now) return hit.value;
    const value = this.read(ref);
    if (this.cacheMs > 0) {
      this.cache.set(ref, { expires: now + this.cacheMs, value });
      // A failed read is not kept: the next attempt asks again.
      value.catch(() => this.cache.delete(ref));
    }
    return value;
  }

  /** Forgets every cached value and closes the clients created here. */
  destroy(): void {
    this.cache.clear();
    const clients = this.clients;
    this.clients = undefined;
    void clients?.then((c) => {
      if (!this.options.ssm) c.ssm.destroy();
      if (!this.options.secretsManager) c.secretsManager.destroy();
    });
  }

  private load(): Promise<Clients> {
    this.clients ??= (async () => {
      const [ssmSdk, smSdk] = await Promise.all([
        import("@aws-sdk/client-ssm"),
        import("@aws-sdk/client-secrets-manager"),
      ]);
      const wrap = this.options.wrap ?? (<C>(c: C) => c);
      const config = this.options.clientConfig ?? {};
      return {
        ssm: this.options.ssm ?? wrap(new ssmSdk.SSMClient(config)),
        secretsManager: this.options.secretsManager ?? wrap(new smSdk.SecretsManagerClient(config)),
        commands: {
          GetParameterCommand: ssmSdk.GetParameterCommand,
          GetSecretValueCommand: smSdk.GetSecretValueCommand,
        },
      };
    })();
    return this.clients;
  }

  private async read(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (typeof parsed === "string")
      throw new SecretError(ref, `invalid secret reference "${ref}": ${parsed}`);
    try {
      const { ssm, secretsManager, commands } = await this.load();
      const { GetParameterCommand, GetSecretValueCommand } = commands;
      if (parsed.service === "ssm") {
        const out = await ssm.send(new GetParameterCommand({ Name: parsed.name, WithDecryption: true }));
        const value = out.Parameter?.Value;
        if (value === undefined) throw new SecretError(ref, `SSM parameter ${parsed.name} has no value`);
        return value;
      }
      const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: parsed.name }));
      if (out.SecretString === undefined) {
        throw new SecretError(ref, `secret ${parsed.name} holds binary data; Ferry reads SecretString only`);
      }
      if (parsed.jsonKey === undefined) return out.SecretString;
      let json: unknown;
      try {
        json = JSON.parse(out.SecretString);
      } catch {
        throw new SecretError(
          ref,
          `secret ${parsed.name} is not a JSON object, so it has no key "${parsed.jsonKey}"`,
        );
      }
      const picked =
        json !== null && typeof json === "object" && !Array.isArray(json)
          ? (json as Record<string, unknown>)[parsed.jsonKey]
          : undefined;
      if (picked === undefined || picked === null) {
        throw new SecretError(ref, `secret ${parsed.name} has no JSON key "${parsed.jsonKey}"`);
      }
      return typeof picked === "string" ? picked : JSON.stringify(picked);
    } catch (error) {
      if (error instanceof SecretError) throw error;
      // The SDK's message names the parameter or secret and the reason (AccessDenied, ParameterNotFound…), not a value.
      const name = (error as { name?: string }).name ?? "Error";
      throw new SecretError(ref, `cannot read ${ref}: ${name}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/**
 * Secrets from the environment: `FERRY_SECRET_<REFERENCE>` (see
 * `secretOverrideEnvName`) wins; otherwise `fallback` (AWS) reads it, and
 * without one the reference is an error naming the variable to set.
 */
export class EnvSecretResolver implements SecretResolver {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly fallback?: SecretResolver,
    private readonly why = "no AWS credentials or endpoint are configured",
  ) {}

  resolve(ref: string): Promise<string> {
    const name = secretOverrideEnvName(ref);
    const value = this.env[name];
    if (value !== undefined) return Promise.resolve(value);
    if (this.fallback) return this.fallback.resolve(ref);
    return Promise.reject(
      new SecretError(ref, `cannot read secret ${ref}: ${this.why}; configure AWS access or set ${name}`),
    );
  }
}

export interface ResolvedSecrets {
  /** The map with every reference replaced by its value. */
  values: Record<string, string>;
  /** The resolved secret values, to redact from logs and causes. */
  secrets: string[];
}

/**
 * Resolves the secret references of an env or header map. `what` names the
 * step for the error (`step "fetch"`); a missing resolver is an error too.
 */
export async function resolveSecretMap(
  map: Record<string, MaybeSecret>,
  resolver: SecretResolver | undefined,
  what: string,
): Promise<ResolvedSecrets> {
  const values: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (!isSecretValue(value)) {
      values[key] = value;
      continue;
    }
    if (!resolver) {
      throw new SecretError(
        value.secret,
        `${what} needs secret ${value.secret} (${key}) but this worker reads no secrets`,
      );
    }
    try {
      values[key] = await resolver.resolve(value.secret);
    } catch (error) {
      const reason = error instanceof SecretError ? error.message : (error as Error).message;
      throw new SecretError(value.secret, `${what}: ${key} = { secret: ${value.secret} }: ${reason}`, {
        cause: error,
      });
    }
    secrets.push(values[key]!);
  }
  return { values, secrets };
}
