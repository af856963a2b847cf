/**
 * The step cache of a Lambda function step, run by `ferry functions serve`
 * (which runs the bundle the stack deploys, with the environment its
 * template gives it) against the workflow deployed to LocalStack: a rerun
 * is answered from the first run's entry without running the handler, and
 * `ferry status` shows the hit from the provenance record the function
 * wrote; `ferry start --no-cache` runs it; changed function code is a miss.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLocalStack } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAndWait,
  startFunctionHost,
  writeSpec,
} from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const dir = tempProject();
const ranLog = join(dir, "ran.log");
writeFileSync(ranLog, "");
mkdirSync(join(dir, "steps"), { recursive: true });
/** Logs each real run and answers with fresh random bytes, so a hit is told apart from a rerun. */
const handlerSource = (version: string) => `import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export async function handler(_input: unknown, context: { jobDir: string }) {
  appendFileSync(${JSON.stringify(ranLog)}, "${version}\\n");
  const n = randomBytes(8).toString("hex");
  await writeFile(join(context.jobDir, "report.txt"), \`${version} \${n}\\n\`);
  return { n, version: "${version}" };
}
`;
writeFileSync(join(dir, "steps", "crunch.ts"), handlerSource("v1"));
const workflow = `lambda-cache-${suffix}`;
const spec = writeSpec(
  dir,
  "lambda-cache.json",
  JSON.stringify({
    version: "1.1",
    name: workflow,
    sites: { cloud: { type: "aws", region: "us-east-1" } },
    defaults: { timeoutSeconds: 60 },
    steps: [
      {
        name: "crunch",
        site: "cloud",
        cache: true,
        function: { handler: "steps/crunch.ts#handler" },
        outputs: ["report.txt"],
      },
    ],
  }),
);

let deployed: Deployed;
let host: FerryProcess | undefined;
const runs = () => readFileSync(ranLog, "utf8").split("\n").filter(Boolean);
const outputOf = (stdout: string) =>
  (JSON.parse(stdout.trim().split("\n").at(-1)!) as { crunch: { n: string; version: string } }).crunch;
const hitsOf = async (executionArn: string) => {
  const status = await ferry(["status", executionArn, "--json"], { cwd: dir, env: ferryEnv() });
  expect(status.code, status.stderr).toBe(0);
  return JSON.parse(status.stdout).cacheHits as Record<string, unknown>;
};

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  host = await startFunctionHost(dir, spec);
}, 600_000);

afterAll(async () => {
  await host?.stop("SIGTERM");
  await destroySpec(dir, spec);
}, 300_000);

describe("the step cache of a Lambda function step (LocalStack, ferry functions serve)", () => {
  it("answers a rerun from the first run's entry without running the handler; ferry status shows the hit", async () => {
    expect(deployed.deployment.cacheTable).toBeTruthy();
    const first = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(first.code, `${first.stdout}\n${first.stderr}\n${host!.stderr}`).toBe(0);
    expect(runs()).toEqual(["v1"]);
    const second = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(second.code, `${second.stdout}\n${second.stderr}\n${host!.stderr}`).toBe(0);
    expect(runs()).toEqual(["v1"]);
    expect(outputOf(second.stdout)).toEqual(outputOf(first.stdout));
    expect(await hitsOf(second.executionArn)).toEqual({ crunch: { hits: 1, origin: first.executionArn } });
    expect(await hitsOf(first.executionArn)).toEqual({});
    const status = await ferry(["status", second.executionArn], { cwd: dir, env: ferryEnv() });
    const row = status.stdout.split("\n").find((l) => l.startsWith("crunch "))!;
    expect(row).toContain(`hit (from ${first.executionArn.split(":").at(-1)})`);
  }, 600_000);

  it("ferry start --no-cache runs the handler again and still writes its entry", async () => {
    const fresh = await startAndWait(dir, spec, { timeoutSeconds: 180, args: ["--no-cache"] });
    expect(fresh.code, `${fresh.stdout}\n${fresh.stderr}`).toBe(0);
    expect(runs()).toEqual(["v1", "v1"]);
    expect(await hitsOf(fresh.executionArn)).toEqual({});
    // It still wrote its entry, under the same key: the next run is a hit from it.
    const after = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(after.code, `${after.stdout}\n${after.stderr}`).toBe(0);
    expect(runs()).toEqual(["v1", "v1"]);
    expect(outputOf(after.stdout)).toEqual(outputOf(fresh.stdout));
    expect(await hitsOf(after.executionArn)).toEqual({ crunch: { hits: 1, origin: fresh.executionArn } });
  }, 600_000);

  it("changed function code (another bundle) is a miss", async () => {
    await host?.stop("SIGTERM");
    host = undefined;
    const stopped = Date.now();
    writeFileSync(join(dir, "steps", "crunch.ts"), handlerSource("v2"));
    host = await startFunctionHost(dir, spec);
    // A long poll the stopped host left open (20 s at most) could still take the next message.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stopped + 21_000 - Date.now())));
    const changed = await startAndWait(dir, spec, { timeoutSeconds: 180 });
    expect(changed.code, `${changed.stdout}\n${changed.stderr}\n${host.stderr}`).toBe(0);
    expect(runs()).toEqual(["v1", "v1", "v2"]);
    expect(outputOf(changed.stdout).version).toBe("v2");
    expect(await hitsOf(changed.executionArn)).toEqual({});
  }, 600_000);
});
