// The agent's share of the LocalStack round trip Step Functions → SQS →
// agent → SendTaskSuccess: from the moment a receive hands the agent a
// step's message to the moment the agent sends the answer, for a no-op
// process step, p50 over sequential executions of a one-step machine. Split
// into the token check before the start (on LocalStack a read of the
// execution's history), the step's process, and the rest (the agent's own
// work). The worker is the agent's own: SQS queue, LocalStack completion,
// process runtime, each from the checkout measured.
// Needs LocalStack (bash test/env/ensure-localstack.sh).
//   npx tsx bench/agent-share.ts [--steps 30] [--rounds 3] [--baseline ../main]
// With --baseline, the checkouts take turns round by round, on the same queue and machine.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DeleteStateMachineCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { awsClientConfig, requireLocalStack, uniqueName } from "../test/support/env.ts";
import { createOneStepMachine } from "../test/support/localstack.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    baseline: { type: "string" },
    // Internal: one round of one checkout, printed as JSON.
    probe: { type: "string" },
    queue: { type: "string" },
    machine: { type: "string" },
  },
});
const ROOT = resolve(import.meta.dirname, "..");
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Figures {
  shareMs: number;
  tokenCheckMs: number;
  processMs: number;
  ownMs: number;
  answerMs: number;
}

async function probe(root: string, queueUrl: string, stateMachineArn: string, steps: number) {
  // biome-ignore lint/suspicious/noExplicitAny: modules of another checkout, typed by their own sources.
  const load = (path: string): Promise<any> => import(pathToFileURL(join(root, path)).href);
  const [agent, fixtures, { SqsQueue }, { LocalStackCompletion }] = await Promise.all([
    load("edge-agent/src/index.ts"),
    load("edge-agent/src/testing/index.ts"),
    load("edge-agent/src/aws/sqs-queue.ts"),
    load("edge-agent/src/aws/localstack-completion.ts"),
  ]);
  const config = awsClientConfig();
  const sqs = new SQSClient(config);
  const sfn = new SFNClient(config);
  const received = new Map<string, number>();
  const queue = new SqsQueue({ client: sqs, queueUrl, deadLetterUrl: queueUrl });
  const receive = queue.receive.bind(queue);
  queue.receive = async (options: unknown) => {
    const messages = await receive(options);
    const at = performance.now();
    for (const m of messages) received.set(JSON.parse(m.body).token, at);
    return messages;
  };
  const completion = new LocalStackCompletion(sfn);
  const samples: Array<Figures & { token: string }> = [];
  const pending = new Map<string, Partial<Figures>>();
  const checkToken = completion.checkToken.bind(completion);
  completion.checkToken = async (message: { token: string }) => {
    const t0 = performance.now();
    const seen = await checkToken(message);
    pending.set(message.token, { tokenCheckMs: performance.now() - t0 });
    return seen;
  };
  const answered = new Map<string, () => void>();
  const success = completion.success.bind(completion);
  completion.success = async (token: string, output: unknown) => {
    const t0 = performance.now();
    await success(token, output);
    const f = pending.get(token) ?? {};
    const shareMs = t0 - (received.get(token) ?? Number.NaN);
    samples.push({
      token,
      shareMs,
      tokenCheckMs: f.tokenCheckMs ?? 0,
      processMs: f.processMs ?? 0,
      ownMs: shareMs - (f.tokenCheckMs ?? 0) - (f.processMs ?? 0),
      answerMs: performance.now() - t0,
    });
    answered.get(token)?.();
  };
  const processes = new agent.ProcessRuntime();
  const runtime = {
    name: "process",
    run: async (request: { env: Record<string, string> }) => {
      const t0 = performance.now();
      const result = await processes.run(request);
      // The token is not in the request: the one step running now is the one pending without a process time.
      for (const f of pending.values()) if (f.processMs === undefined) f.processMs = performance.now() - t0;
      return result;
    },
  };
  const workDir = mkdtempSync(join(tmpdir(), "ferry-share-bench-"));
  const worker = agent.createWorker({
    queue,
    completion,
    manifests: [
      fixtures.manifestOf("share", [
        { name: "noop", runtime: { kind: "process", command: ["true"], env: {} } },
      ]),
    ],
    runtimes: { process: runtime },
    concurrency: 1,
    workDir,
    receiveWaitSeconds: 20,
  });
  await worker.start();
  for (let i = 0; i < steps + 2; i++) {
    const before = samples.length;
    await sfn.send(new StartExecutionCommand({ stateMachineArn, input: "{}" }));
    while (samples.length === before) await new Promise((r) => setTimeout(r, 5));
    pending.clear();
  }
  await worker.stop();
  await processes.close?.();
  rmSync(workDir, { recursive: true, force: true });
  const kept = samples.slice(2); // warm-up: the first steps load modules and open connections
  const figures: Figures = {
    shareMs: p50(kept.map((s) => s.shareMs)),
    tokenCheckMs: p50(kept.map((s) => s.tokenCheckMs)),
    processMs: p50(kept.map((s) => s.processMs)),
    ownMs: p50(kept.map((s) => s.ownMs)),
    answerMs: p50(kept.map((s) => s.answerMs)),
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  sqs.destroy();
  sfn.destroy();
}

if (values.probe) {
  await probe(resolve(values.probe), values.queue!, values.machine!, Number(values.steps));
} else {
  await requireLocalStack();
  const config = awsClientConfig();
  const sqs = new SQSClient(config);
  const sfn = new SFNClient(config);
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: uniqueName("ferry-share-bench"),
      Attributes: { VisibilityTimeout: "60" },
    }),
  );
  const { stateMachineArn } = await createOneStepMachine(sfn, {
    workflow: "share",
    step: "noop",
    queueUrl: QueueUrl!,
  });
  const roots: Array<[string, string]> = [["this checkout", ROOT]];
  if (values.baseline) roots.push(["baseline", resolve(values.baseline)]);
  const results = new Map<string, Figures[]>();
  try {
    for (let round = 0; round < Number(values.rounds); round++)
      for (let i = 0; i < roots.length; i++) {
        const [label, root] = roots[(i + round) % roots.length]!;
        const out = execFileSync(
          join(ROOT, "node_modules", ".bin", "tsx"),
          [
            join(ROOT, "bench", "agent-share.ts"),
            "--probe",
            root,
            "--queue",
            QueueUrl!,
            "--machine",
            stateMachineArn!,
            "--steps",
            values.steps!,
          ],
          { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
        );
        const figures = JSON.parse(out.trim().split("\n").pop()!) as Figures;
        results.set(label, [...(results.get(label) ?? []), figures]);
        process.stderr.write(`round ${round + 1} ${label}: ${JSON.stringify(figures)}\n`);
      }
  } finally {
    await sfn.send(new DeleteStateMachineCommand({ stateMachineArn })).catch(() => undefined);
    await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  }
  console.log(
    `agent share of the round trip, no-op process step, ${values.steps} sequential executions per round, median of ${values.rounds} rounds' p50 (ms):`,
  );
  console.log(`${"".padEnd(44)}${roots.map(([l]) => l.padStart(15)).join("")}`);
  const rows: Array<[keyof Figures, string]> = [
    ["shareMs", "share: received → SendTaskSuccess sent"],
    ["tokenCheckMs", "  token check (history read)"],
    ["processMs", "  step process (true)"],
    ["ownMs", "  the agent's own work"],
    ["answerMs", "SendTaskSuccess round trip (not in share)"],
  ];
  for (const [key, label] of rows)
    console.log(
      `${label.padEnd(44)}${roots
        .map(([l]) =>
          p50(results.get(l)!.map((f) => f[key]))
            .toFixed(1)
            .padStart(15),
        )
        .join("")}`,
    );
  console.log("goal: share ≤ 15 ms");
}
