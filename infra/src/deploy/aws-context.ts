/**
 * Where Ferry's deploy and run commands talk to AWS: region, optional
 * endpoint (LocalStack) and credentials, resolved once from flags and the
 * environment.
 */

/** What a command line gives about the AWS endpoint. */
export interface AwsContextOptions {
  /** `--endpoint-url`; else `AWS_ENDPOINT_URL`; else the real AWS endpoints. */
  endpointUrl?: string;
  /** `--region`; else the workflow's first aws site, then `AWS_REGION`, `AWS_DEFAULT_REGION`. */
  region?: string;
  /** The region the workflow itself names (its first aws site), if any. */
  workflowRegion?: string;
}

/** The resolved AWS context every client of one command shares. */
export interface AwsContext {
  region: string;
  /** Set for LocalStack (or any other endpoint); undefined means AWS itself. */
  endpoint?: string;
  /** Dummy credentials for an explicit endpoint when none are configured; otherwise the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** @default region when nothing names one */
export const FALLBACK_REGION = "us-east-1";

/** Resolves the AWS context; flags win over the spec, which wins over the environment. */
export function resolveAwsContext(options: AwsContextOptions, env: NodeJS.ProcessEnv): AwsContext {
  const endpoint = options.endpointUrl ?? (env.AWS_ENDPOINT_URL || undefined);
  const region =
    options.region ?? options.workflowRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? FALLBACK_REGION;
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE);
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    // LocalStack accepts any key; without this an endpoint-only setup would fail in the SDK's credential chain.
    ...(endpoint && !hasCredentials ? { credentials: { accessKeyId: "test", secretAccessKey: "test" } } : {}),
  };
}

/** Options for any AWS SDK v3 client of this context (`region` overrides the context's). */
export function clientConfig(
  context: AwsContext,
  region: string = context.region,
): {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
} {
  return {
    region,
    ...(context.endpoint ? { endpoint: context.endpoint, forcePathStyle: true } : {}),
    ...(context.credentials ? { credentials: context.credentials } : {}),
  };
}

/** The region of an ARN (`arn:aws:states:eu-west-1:…`). */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(":")[3] || undefined;
}
