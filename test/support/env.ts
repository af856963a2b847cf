/**
 * Where the integration tests find their real services, and guards that fail a
 * test loudly (never skip it) when one is missing.
 *
 * `npm test` (test/run-all.sh) starts what is missing and exports the
 * variables read here; to run one integration file by hand, start the services
 * first: `bash test/env/ensure-docker.sh && bash test/env/build-test-image.sh &&
 * bash test/env/ensure-localstack.sh`.
 */
import { request } from "node:http";

/** The image test/env/build-test-image.sh builds: static busybox, nothing pulled. */
export const TEST_IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-test/busybox:1";

/** Region every test client uses; LocalStack accepts any. */
export const TEST_REGION = process.env.AWS_REGION ?? "us-east-1";

/** The account id LocalStack puts in every ARN. */
export const LOCALSTACK_ACCOUNT_ID = "000000000000";

/** Services test/env/ensure-localstack.sh starts, all of which tests may use. */
export const LOCALSTACK_SERVICES = [
  "stepfunctions",
  "sqs",
  "s3",
  "iam",
  "sts",
  "cloudformation",
  "ssm",
  "logs",
  "dynamodb",
  "events",
  // Every stack holds a manifest signing key; ferry deploy signs with it.
  "kms",
  "secretsmanager",
  // notify: topics, and the Python client's subscription queue.
  "sns",
] as const;

export type LocalStackService = (typeof LOCALSTACK_SERVICES)[number] | "lambda";

const START_ALL = "npm test, or bash test/env/ensure-docker.sh && bash test/env/build-test-image.sh";
const START_LOCALSTACK = "npm test, or bash test/env/ensure-localstack.sh";

/** A required service of the test environment is missing or unusable. */
export class TestEnvironmentError extends Error {
  override readonly name = "TestEnvironmentError";
}

/**
 * LocalStack's endpoint, loopback only.
 * @default "http://127.0.0.1:4566" (env FERRY_TEST_LOCALSTACK)
 */
export function localstackEndpoint(): string {
  return process.env.FERRY_TEST_LOCALSTACK ?? "http://127.0.0.1:4566";
}

/**
 * The Docker Engine's unix socket.
 * @default "/var/run/docker.sock" (env FERRY_TEST_DOCKER_SOCKET)
 */
export function dockerSocket(): string {
  return process.env.FERRY_TEST_DOCKER_SOCKET ?? "/var/run/docker.sock";
}

/** Options for any AWS SDK v3 client, pointed at LocalStack with its dummy credentials. */
export function awsClientConfig(): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: localstackEndpoint(),
    region: TEST_REGION,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "test",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "test",
    },
  };
}

/** A name unique to this test run, valid for queues, tables, state machines and buckets. */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return `${prefix}-${suffix}`.toLowerCase();
}

export interface DockerApiResponse {
  statusCode: number;
  body: string;
}

/** One Docker Engine API call over the unix socket, without a client library; `body` is sent as JSON. */
export function dockerApi(
  method: string,
  path: string,
  timeoutMs = 10_000,
  body?: unknown,
): Promise<DockerApiResponse> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = text === undefined ? {} : { "content-type": "application/json" };
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: dockerSocket(), method, path, timeout: timeoutMs, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(text);
  });
}

export interface DockerVersion {
  Version: string;
  ApiVersion: string;
  Os: string;
  Arch: string;
}

/** Fails unless a Docker Engine answers on {@link dockerSocket}; returns its version. */
export async function requireDocker(): Promise<DockerVersion> {
  let res: DockerApiResponse;
  try {
    res = await dockerApi("GET", "/version");
  } catch (error) {
    throw new TestEnvironmentError(
      `Docker engine not reachable on ${dockerSocket()}: ${(error as Error).message}. Start it with: ${START_ALL}`,
      { cause: error },
    );
  }
  if (res.statusCode !== 200) {
    throw new TestEnvironmentError(
      `Docker engine on ${dockerSocket()} answered GET /version with ${res.statusCode}: ${res.body}`,
    );
  }
  return JSON.parse(res.body) as DockerVersion;
}

/** Fails unless {@link TEST_IMAGE} exists in the engine (it is never pulled). */
export async function requireTestImage(): Promise<void> {
  await requireDocker();
  const res = await dockerApi("GET", `/images/${encodeURIComponent(TEST_IMAGE)}/json`);
  if (res.statusCode !== 200) {
    throw new TestEnvironmentError(
      `test image ${TEST_IMAGE} is missing (engine answered ${res.statusCode}). Build it with: bash test/env/build-test-image.sh`,
    );
  }
}

export interface LocalStackHealth {
  version: string;
  edition: string;
  services: Record<string, string>;
}

/**
 * Fails unless LocalStack answers on {@link localstackEndpoint} with every
 * service in `services` available or running; returns its health report.
 */
export async function requireLocalStack(
  services: readonly LocalStackService[] = LOCALSTACK_SERVICES,
): Promise<LocalStackHealth> {
  const url = `${localstackEndpoint()}/_localstack/health`;
  let health: LocalStackHealth;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    health = (await res.json()) as LocalStackHealth;
  } catch (error) {
    throw new TestEnvironmentError(
      `LocalStack not reachable at ${url}: ${(error as Error).message}. Start it with: ${START_LOCALSTACK}`,
      { cause: error },
    );
  }
  const missing = services.filter((s) => !["available", "running"].includes(health.services[s] ?? ""));
  if (missing.length > 0) {
    const states = missing.map((s) => `${s}=${health.services[s] ?? "absent"}`).join(", ");
    throw new TestEnvironmentError(
      `LocalStack at ${localstackEndpoint()} lacks services: ${states}. Restart it with: bash test/env/teardown.sh localstack && ${START_LOCALSTACK}`,
    );
  }
  return health;
}
