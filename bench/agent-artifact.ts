// The shipped agent (scripts/build.mjs): artifact sizes, and idle RSS of the
// same agent config started three ways in the same run: the single-executable
// application, the single-file bundle on plain node, and `ferry agent` from
// sources under tsx; with a bare `node` process as the floor. Goal: idle RSS
// ≤ 52 MiB on the artifact. The executables are measured a second time read
// from disk (their cached pages dropped first, as after a reboot): a program
// file just written sits whole in the page cache and maps more of itself.
//
// Run: npm run build && npx tsx bench/agent-artifact.ts [--baseline DIR]
// --baseline: also the executable and bundle of another build (DIR/dist/agent, e.g. a
// checkout of main after its own build), in the same run.
// (needs LocalStack on AWS_ENDPOINT_URL, default http://127.0.0.1:4566: the agents long-poll a real queue)
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { manifestOf, shStep } from "../edge-agent/src/testing/fixtures.ts";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist", "agent");
const version = JSON.parse(readFileSync(join(root, "edge-agent", "package.json"), "utf8")).version as string;
const arch = process.arch === "arm64" ? "arm64" : "x64";
const node = join(root, "node_modules", ".bin", "node");
const endpoint = process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:4566";
const region = process.env.AWS_REGION ?? "us-east-1";
const credentials = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "test",
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "test",
};
const MiB = 1024 * 1024;
const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
/** Time an agent idles (long-polling) before its memory is read, and how many readings follow, 1 s apart. */
const SETTLE_MS = 10_000;
const SAMPLES = 5;
const { values } = parseArgs({ options: { baseline: { type: "string" } } });

function sizes(): void {
  const files = [
    "ferry-agent.mjs",
    `linux-x64/ferry-agent`,
    `linux-arm64/ferry-agent`,
    `ferry-agent-${version}-linux-x64.tar.gz`,
    `ferry-agent-${version}-linux-arm64.tar.gz`,
    `ferry-agent_${version}_amd64.deb`,
    `ferry-agent_${version}_arm64.deb`,
  ];
  for (const file of files) {
    const path = join(dist, file);
    console.log(
      `size ${file}: ${existsSync(path) ? `${fmt(statSync(path).size)} (${statSync(path).size} B)` : "not built"}`,
    );
  }
  try {
    const bytes = Number(
      execFileSync("docker", ["image", "inspect", `ferry-agent:${version}`, "--format", "{{.Size}}"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
    );
    console.log(`size image ferry-agent:${version} (uncompressed): ${fmt(bytes)} (${bytes} B)`);
  } catch {
    console.log(`size image ferry-agent:${version}: not built (npm run build:agent-image)`);
  }
}

interface Rss {
  total: number;
  /** Heap, malloc and stacks. */
  anon: number;
  /** Pages of the executable (and libraries) read in: more of Node's own code as more JS runs. */
  file: number;
}

function rss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { total: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile") };
}
const show = (r: Rss) => `${fmt(r.total)} (anonymous ${fmt(r.anon)}, file-backed ${fmt(r.file)})`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function untilHealthy(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts `command`, waits for /healthz (if `port`), idles, and returns the reading with the median RSS.
 * With `cold`, that program file's cached pages are dropped first (GNU dd: nocache with count=0).
 */
async function idleRss(
  command: string[],
  port: number | undefined,
  cwd: string,
  cold?: string,
): Promise<Rss> {
  if (cold) execFileSync("dd", [`if=${realpathSync(cold)}`, "iflag=nocache", "count=0", "status=none"]);
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => {
    output += c;
  });
  child.stderr!.on("data", (c: Buffer) => {
    output += c;
  });
  try {
    if (port !== undefined) await untilHealthy(port, child, () => output);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const readings: Rss[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      readings.push(rss(child.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
    return readings.sort((a, b) => a.total - b.total)[Math.floor(readings.length / 2)]!;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  }
}

async function memory(): Promise<void> {
  const sqs = new SQSClient({ endpoint, region, credentials });
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `ferry-artifact-bench-${Date.now()}` }),
  );
  const dir = mkdtempSync(join(tmpdir(), "ferry-artifact-bench-"));
  try {
    const manifest = join(dir, "manifest.json");
    writeFileSync(manifest, JSON.stringify(manifestOf("bench", [shStep("noop", "true", { site: "lab" })])));
    const config = async () => {
      const port = await freePort();
      const file = join(dir, `agent-${port}.yaml`);
      writeFileSync(
        file,
        [
          "site: lab",
          "runtime: process",
          `queues: [{ url: '${QueueUrl}' }]`,
          `manifests: ['${manifest}']`,
          `workDir: ${join(dir, `work-${port}`)}`,
          `metrics: { host: 127.0.0.1, port: ${port} }`,
          `aws: { region: ${region}, endpoint: '${endpoint}' }`,
          "logLevel: warn",
        ].join("\n"),
      );
      return { port, file };
    };
    const variants: Array<[string, (file: string) => string[]]> = [
      [
        `single executable (dist/agent/linux-${arch}/ferry-agent)`,
        (f) => [join(dist, `linux-${arch}`, "ferry-agent"), "--config", f],
      ],
      [
        "bundle on plain node (node dist/agent/ferry-agent.mjs)",
        (f) => [node, join(dist, "ferry-agent.mjs"), "--config", f],
      ],
      ...(values.baseline
        ? ([
            [
              `baseline single executable (${values.baseline}/dist/agent/linux-${arch}/ferry-agent)`,
              (f: string) => [
                join(resolve(values.baseline!), "dist", "agent", `linux-${arch}`, "ferry-agent"),
                "--config",
                f,
              ],
            ],
            [
              `baseline bundle on plain node (${values.baseline}/dist/agent/ferry-agent.mjs)`,
              (f: string) => [
                node,
                join(resolve(values.baseline!), "dist", "agent", "ferry-agent.mjs"),
                "--config",
                f,
              ],
            ],
          ] as Array<[string, (file: string) => string[]]>)
        : []),
      [
        "from sources under tsx (ferry agent)",
        (f) => [node, join(root, "cli", "bin", "ferry.js"), "agent", "--config", f],
      ],
    ];
    const floor = await idleRss([node, "-e", "setInterval(() => {}, 1000)"], undefined, dir);
    console.log(
      `idle RSS bare node (node -e 'setInterval(…)', ${execFileSync(node, ["--version"], { encoding: "utf8" }).trim()}): ${show(floor)}`,
    );
    for (const [label, command] of variants) {
      const { port, file } = await config();
      const idle = await idleRss(command(file), port, dir);
      const goal = label.startsWith("single") ? "   (goal ≤ 52 MiB)" : "";
      console.log(
        `idle RSS ${label}: ${show(idle)}, +${fmt(idle.total - floor.total)} over bare node${goal}`,
      );
    }
    // A program file just written (built, unpacked, installed) sits whole in the page cache, and
    // its first run maps more of it than one read from disk: the same executables and node again,
    // each started after its cached pages were dropped (as after a reboot).
    const coldFloor = await idleRss([node, "-e", "setInterval(() => {}, 1000)"], undefined, dir, node);
    console.log(`idle RSS bare node, read from disk: ${show(coldFloor)}`);
    for (const [label, command] of variants.filter(([l]) => /single executable/.test(l))) {
      const { port, file } = await config();
      const argv = command(file);
      const idle = await idleRss(argv, port, dir, argv[0]);
      console.log(
        `idle RSS ${label}, read from disk: ${show(idle)}, +${fmt(idle.total - coldFloor.total)} over bare node read from disk`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  }
}

console.log(
  `Ferry agent artifacts ${version} — host linux-${arch}; idle = ${SETTLE_MS / 1000} s long-polling LocalStack, median of ${SAMPLES} readings`,
);
sizes();
await memory();
