/**
 * The workflow and tools the LocalStack fault tests share: one step whose
 * behaviour the execution input chooses, a TCP proxy to cut an agent off
 * from LocalStack, and direct SQS sends for poison and duplicate messages.
 */
import { existsSync, readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { GetExecutionHistoryCommand, SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig, localstackEndpoint, TEST_REGION } from "./env.ts";
import { eventually } from "./ferry-cli.ts";

/**
 * `work` reads the execution input: `mode` is `ok`, `fail` (exit 3 with a
 * message on stderr) or `sleep` (`seconds`, or `thenSeconds` when it has
 * started before: a step resuming from a checkpoint); it appends a line to
 * `startedFile` when it starts and to `countFile` when it finishes.
 */
const WORK_SCRIPT = `
const fs = require("node:fs");
const { input } = JSON.parse(fs.readFileSync(process.env.FERRY_INPUT_FILE, "utf8"));
const rerun = Boolean(input.startedFile) && fs.existsSync(input.startedFile);
if (input.startedFile) fs.appendFileSync(input.startedFile, "started\\n");
if (input.mode === "fail") { console.error("boom: the disk is on fire"); process.exit(3); }
const done = () => {
  if (input.countFile) fs.appendFileSync(input.countFile, "ran\\n");
  console.log(JSON.stringify({ ok: true, mode: input.mode }));
};
const seconds = rerun && input.thenSeconds !== undefined ? input.thenSeconds : input.seconds;
if (input.mode === "sleep") setTimeout(done, seconds * 1000); else done();
`;

/**
 * The fault-test workflow: one edge step, two attempts, a 10 s heartbeat
 * (short enough to notice a dead agent within a test, long enough for an
 * agent on a busy two-core machine to send its first beat).
 */
export function faultsSpec(name: string): string {
  return JSON.stringify({
    name,
    description: "One step whose behaviour the input chooses, for fault tests.",
    sites: { lab: { type: "edge" } },
    steps: [
      {
        name: "work",
        site: "lab",
        process: { command: ["node", "-e", WORK_SCRIPT] },
        // Three attempts: in the outage case the retry's message can be taken by a long poll the
        // outage cut and come back only after its visibility timeout (10 s), as its heartbeat (10 s)
        // runs out; the third attempt is then delivered with the endpoint back.
        retry: { maxAttempts: 3, intervalSeconds: 1, backoffRate: 1 },
        timeoutSeconds: 90,
        heartbeatSeconds: 10,
      },
    ],
  });
}

/** Lines a step appended to a marker file (0 when it does not exist). */
export function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
}

/** Waits until the step appended `count` lines to the marker file. */
export function waitForLines(file: string, count: number, what: string, timeoutMs = 60_000): Promise<true> {
  return eventually(() => (lineCount(file) >= count ? true : undefined), what, timeoutMs);
}

/**
 * A loopback TCP proxy to LocalStack that can be cut (every connection
 * dropped, the port closed) and restored on the same port: the agent sees
 * its endpoint disappear and come back.
 */
export class OutageProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<string> {
    const target = new URL(localstackEndpoint());
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and stops listening. */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

function sqsClient(): SQSClient {
  return new SQSClient({ ...awsClientConfig(), region: TEST_REGION });
}

/** Sends raw bodies to a queue. */
export async function sendRaw(queueUrl: string, bodies: string[]): Promise<void> {
  const sqs = sqsClient();
  try {
    for (const body of bodies)
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  } finally {
    sqs.destroy();
  }
}

/**
 * The step message Step Functions sent for an execution's latest attempt,
 * read back from its history (`TaskScheduled` parameters): what a
 * duplicate SQS delivery of that message would carry.
 */
export async function sentMessageBody(executionArn: string, timeoutMs = 30_000): Promise<string> {
  const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
  try {
    return await eventually(
      async () => {
        const out = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 }),
        );
        const scheduled = out.events?.find((e) => e.type === "TaskScheduled");
        const parameters = scheduled?.taskScheduledEventDetails?.parameters;
        if (!parameters) return undefined;
        const body = (JSON.parse(parameters) as { MessageBody: unknown }).MessageBody;
        return typeof body === "string" ? body : JSON.stringify(body);
      },
      `the step message of ${executionArn}`,
      timeoutMs,
    );
  } finally {
    sfn.destroy();
  }
}

/**
 * A stopped agent's last long poll lives on in SQS for up to its wait time
 * (20 s) and takes the next message sent, which then stays invisible for a
 * visibility timeout — on AWS as on LocalStack. Before the next test, feed
 * such orphaned polls harmless decoys and remove the decoys nobody took.
 * A decoy is `body`, the step message of a closed execution
 * ({@link closedExecutionMessage}): a late redelivery that Step Functions
 * would send too, which an agent that later receives it drops at its token
 * check without running anything (a made-up message would be dead-lettered).
 */
export async function absorbOrphanedPolls(queueUrl: string, body: string, decoys: number): Promise<void> {
  await sendRaw(
    queueUrl,
    Array.from({ length: decoys }, () => body),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/**
 * Stops a running execution once its step message was sent and returns
 * that message: a real one whose task can no longer be answered.
 */
export async function closedExecutionMessage(executionArn: string): Promise<string> {
  const body = await sentMessageBody(executionArn);
  const sfn = new SFNClient({ ...awsClientConfig(), region: TEST_REGION });
  try {
    await sfn.send(new StopExecutionCommand({ executionArn, error: "Ferry.TestDecoy" }));
  } finally {
    sfn.destroy();
  }
  return body;
}
