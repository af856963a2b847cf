import { AsyncLocalStorage } from "node:async_hooks";
import { appendFileSync } from "node:fs";

/**
 * Test-only evidence of what Ferry's runtime parts ask AWS to do. With
 * `FERRY_RECORD_AWS_CALLS=<file>` set, every AWS SDK v3 call of a recorded
 * client appends one JSON line: the IAM action, the resource ARN IAM
 * evaluates, and who made it (principal kind, site, step). The IAM evidence
 * test replays these lines against the synthesized policies. Unset, nothing
 * is installed and nothing is written.
 */
export const RECORD_AWS_CALLS_ENV = "FERRY_RECORD_AWS_CALLS";

/** Who makes the calls: an edge agent (or Fargate worker) of a site, or a function step's Lambda. */
export interface AwsCallPrincipal {
  kind: "agent" | "function";
  workflow?: string;
  site?: string;
  step?: string;
}

export interface RecordedAwsCall extends AwsCallPrincipal {
  /** IAM action, e.g. `sqs:ReceiveMessage`, `s3:GetObject` (for HeadObject). */
  action: string;
  /** SDK command, e.g. `HeadObjectCommand`. */
  command: string;
  /** The ARN IAM authorizes the call against; `*` for actions without resource types. */
  resource: string;
  /** `s3:prefix` of a ListBucket call. */
  prefix?: string;
  /** The error name when AWS refused or failed the call. */
  error?: string;
}

const callContext = new AsyncLocalStorage<Partial<AwsCallPrincipal>>();

/** Runs `fn` with calls inside it attributed to `context` (e.g. the step a worker is running). */
export function withAwsCallContext<T>(context: Partial<AwsCallPrincipal>, fn: () => T): T {
  return callContext.run({ ...callContext.getStore(), ...context }, fn);
}

/** The narrow part of an SDK v3 client the recorder needs. */
interface RecordableClient {
  config: { region?: unknown };
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<unknown>,
        context: { commandName?: string; clientName?: string },
      ) => (args: { input: object }) => Promise<unknown>,
      options: { step: "initialize"; name: string; override?: boolean },
    ): void;
  };
}

/**
 * Installs the recording middleware on `client` when `env` names a file.
 * Returns the client, so `recordAwsCalls(new SQSClient(…), who)` reads well.
 */
export function recordAwsCalls<C>(
  client: C,
  principal: AwsCallPrincipal,
  env: NodeJS.ProcessEnv = process.env,
): C {
  const file = env[RECORD_AWS_CALLS_ENV];
  if (!file) return client;
  const recordable = client as unknown as RecordableClient;
  recordable.middlewareStack.add(
    (next, context) => async (args) => {
      const region = await regionOf(recordable);
      const command = context.commandName ?? "UnknownCommand";
      const service = serviceOf(context.clientName ?? "");
      const base = { ...principal, ...callContext.getStore() };
      const write = (error?: string, output?: unknown) => {
        const call: RecordedAwsCall = {
          ...base,
          ...describeCall(service, command, args.input as Record<string, unknown>, region, output),
          command,
          ...(error ? { error } : {}),
        };
        appendFileSync(file, `${JSON.stringify(call)}\n`);
      };
      try {
        const out = await next(args);
        write(undefined, (out as { output?: unknown }).output);
        return out;
      } catch (error) {
        write((error as { name?: string }).name ?? "Error");
        throw error;
      }
    },
    { step: "initialize", name: "ferryRecordAwsCalls", override: true },
  );
  return client;
}

async function regionOf(client: RecordableClient): Promise<string> {
  const region = client.config.region;
  const value = typeof region === "function" ? await (region as () => Promise<string>)() : region;
  return typeof value === "string" ? value : "";
}

/** `SQSClient` → `sqs`, `SFNClient` → `states`, `S3Client` → `s3`, `DynamoDBClient` → `dynamodb`. */
function serviceOf(clientName: string): string {
  const name = clientName.replace(/Client$/, "").toLowerCase();
  return name === "sfn" ? "states" : name;
}

/** S3 authorizes these commands under another action name. */
const S3_ACTIONS: Record<string, string> = {
  HeadObject: "GetObject",
  ListObjectsV2: "ListBucket",
  ListObjects: "ListBucket",
  CreateMultipartUpload: "PutObject",
  UploadPart: "PutObject",
  CompleteMultipartUpload: "PutObject",
};

/** The IAM action and resource ARN of one SDK call. */
export function describeCall(
  service: string,
  command: string,
  input: Record<string, unknown>,
  region: string,
  output?: unknown,
): Pick<RecordedAwsCall, "action" | "resource" | "prefix"> {
  let op = command.replace(/Command$/, "");
  const str = (key: string) => (typeof input[key] === "string" ? (input[key] as string) : undefined);
  if (service === "s3") {
    const bucket = str("Bucket") ?? "";
    const action = `s3:${S3_ACTIONS[op] ?? op}`;
    if (action === "s3:ListBucket") {
      return { action, resource: `arn:aws:s3:::${bucket}`, prefix: str("Prefix") ?? "" };
    }
    const key = str("Key");
    return {
      action,
      resource: key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`,
    };
  }
  if (service === "sqs") {
    // Batch calls are authorized as their single-message action.
    op = op.replace(/Batch$/, "");
    const url = str("QueueUrl");
    if (url) return { action: `sqs:${op}`, resource: queueArnOfUrl(url, region) };
    const name = str("QueueName") ?? "";
    const account = str("QueueOwnerAWSAccountId") ?? "";
    return { action: `sqs:${op}`, resource: `arn:aws:sqs:${region}:${account}:${name}` };
  }
  if (service === "kms") {
    // IAM authorizes key operations against the key's ARN (agents are configured with the ARN).
    const key = str("KeyId") ?? "";
    return {
      action: `kms:${op}`,
      resource: key.startsWith("arn:") ? key : `arn:aws:kms:${region}:*:key/${key}`,
    };
  }
  if (service === "ssm" || service === "secretsmanager") {
    // The answer names the exact ARN (account, and a secret's random suffix); a refused call has none.
    const out = (output ?? {}) as { ARN?: unknown; Parameter?: { ARN?: unknown } };
    const arn = service === "ssm" ? out.Parameter?.ARN : out.ARN;
    if (typeof arn === "string") return { action: `${service}:${op}`, resource: arn };
    const name = (str("Name") ?? str("SecretId") ?? "").replace(/^\//, "");
    return {
      action: `${service}:${op}`,
      resource:
        service === "ssm"
          ? `arn:aws:ssm:${region}:*:parameter/${name}`
          : `arn:aws:secretsmanager:${region}:*:secret:${name}`,
    };
  }
  if (service === "dynamodb") {
    // A call names its table by name or ARN; the account is not in a name (`*`, as for a refused SSM read).
    const table = str("TableName") ?? "";
    return {
      action: `dynamodb:${op}`,
      resource: table.startsWith("arn:") ? table : `arn:aws:dynamodb:${region}:*:table/${table}`,
    };
  }
  // SendTaskSuccess/Failure/Heartbeat have no resource types: IAM evaluates them against "*".
  return { action: `${service}:${op}`, resource: "*" };
}

/** `https://sqs.us-east-1.amazonaws.com/123456789012/name` (or LocalStack's form) → the queue's ARN. */
export function queueArnOfUrl(url: string, region: string): string {
  const parts = new URL(url).pathname.split("/").filter(Boolean);
  const [account = "", name = ""] = parts.slice(-2);
  const host = /^sqs\.([a-z0-9-]+)\./.exec(new URL(url).hostname);
  return `arn:aws:sqs:${host?.[1] ?? region}:${account}:${name}`;
}
