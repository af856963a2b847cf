import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDocker, requireTestImage, TEST_IMAGE } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";

interface StepRecord {
  name: string;
  status: string;
  attempts: number;
  cacheHits?: number;
  cachedFrom?: string;
}
interface RunRecord {
  runId: string;
  status: string;
  output: Record<string, unknown>;
  steps: StepRecord[];
}

/** Runs the spec with `ferry run --json` and returns its run record. */
async function run(project: string, spec: string, extra: string[] = []): Promise<RunRecord> {
  const result = await ferry(["run", spec, "--json", ...extra], { cwd: project });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as RunRecord;
}

/** How often each step's side effect ran: every cached step appends its name to ran.log when it really runs. */
function runs(project: string, step: string): number {
  try {
    return readFileSync(join(project, "ran.log"), "utf8")
      .split("\n")
      .filter((l) => l === step).length;
  } catch {
    return 0;
  }
}

const hits = (record: RunRecord, step: string) => record.steps.find((s) => s.name === step)?.cacheHits ?? 0;

interface Variant {
  command?: string;
  env?: string;
}

/**
 * source (never cached) copies data.txt into the job file raw.txt and
 * outputs tag.txt; count (cached) reads raw.txt with script.sh; summarize
 * (a cached function) imports helper.ts.
 */
function processSpec(v: Variant = {}): string {
  return `version: "1.1"
name: cache-correctness
sites:
  lab: { type: edge }
defaults:
  cache: true
steps:
  - name: source
    site: lab
    cache: false
    outputs: [raw.txt]
    process:
      command: ["sh", "-c", "cp data.txt $FERRY_JOB_DIR/raw.txt; echo \\"{\\\\\\"tag\\\\\\": \\\\\\"$(cat tag.txt)\\\\\\"}\\""]
  - name: count
    depends: [source]
    site: lab
    inputs: [raw.txt]
    outputs: [count.txt]
    process:
      command: ["sh", "script.sh"${v.command ? `, "${v.command}"` : ""}]
      env: { MODE: "${v.env ?? "a"}" }
  - name: summarize
    depends: [count]
    site: lab
    function: { handler: "summarize.ts#handler" }
`;
}

function writeProject(project: string): void {
  writeFileSync(join(project, "data.txt"), "one two three\n");
  writeFileSync(join(project, "tag.txt"), "v1");
  writeFileSync(
    join(project, "script.sh"),
    'echo count >> ran.log\nn=$(wc -c < "$FERRY_JOB_DIR/raw.txt" | tr -d " ")\necho "$n $MODE $1" > "$FERRY_JOB_DIR/count.txt"\necho "{\\"bytes\\": $n, \\"nonce\\": \\"$(date +%s%N)\\"}"\n',
  );
  writeFileSync(join(project, "helper.ts"), "export const factor = 2;\n");
  writeFileSync(
    join(project, "summarize.ts"),
    `import { appendFileSync } from "node:fs";
import { factor } from "./helper.ts";
export async function handler(event: { deps: { count: { bytes: number } } }) {
  appendFileSync("ran.log", "summarize\\n");
  return { scaled: event.deps.count.bytes * factor, at: Date.now() };
}
`,
  );
}

describe("step cache and provenance in ferry run (real processes)", () => {
  it("hits after an unchanged rerun and misses after each change of what runs or what it reads", async () => {
    const project = tempProject();
    writeProject(project);
    writeFileSync(join(project, "wf.yaml"), processSpec());

    const first = await run(project, "wf.yaml");
    expect([runs(project, "count"), runs(project, "summarize")]).toEqual([1, 1]);
    const second = await run(project, "wf.yaml");
    // Unchanged: nothing cached ran again, and the answers are the recorded ones (a nonce and a clock in them).
    expect([runs(project, "count"), runs(project, "summarize")]).toEqual([1, 1]);
    expect(second.output).toEqual(first.output);
    expect([hits(second, "count"), hits(second, "summarize")]).toEqual([1, 1]);
    expect(second.steps.find((s) => s.name === "count")?.cachedFrom).toContain(first.runId);
    // The cached output file reached the downstream step's folder as the run's own job file.
    const files = join(project, ".ferry", "runs", second.runId, "files");
    const found = execFileSync("find", [files, "-name", "count.txt"], { encoding: "utf8" }).trim();
    expect(readFileSync(found, "utf8")).toBe("14 a \n");

    let expected = 1;
    const missAfter = async (what: string, change: () => void) => {
      change();
      const record = await run(project, "wf.yaml");
      expected++;
      expect(runs(project, "count"), `count must run again after ${what}`).toBe(expected);
      expect(hits(record, "count"), what).toBe(0);
      return record;
    };
    await missAfter("a command change", () =>
      writeFileSync(join(project, "wf.yaml"), processSpec({ command: "x" })),
    );
    await missAfter("an env change", () =>
      writeFileSync(join(project, "wf.yaml"), processSpec({ command: "x", env: "b" })),
    );
    await missAfter("a script (code) change", () =>
      writeFileSync(join(project, "script.sh"), `# v2\n${readFileSync(join(project, "script.sh"), "utf8")}`),
    );
    await missAfter("an upstream output change", () => writeFileSync(join(project, "tag.txt"), "v2"));
    await missAfter("an input job file change", () => writeFileSync(join(project, "data.txt"), "one two\n"));
    // The workflow input: a miss, by the same key.
    const withInput = await ferry(["run", "wf.yaml", "--json", "--input", '{"batch": 7}'], { cwd: project });
    expect(withInput.code, withInput.stderr).toBe(0);
    expect(runs(project, "count")).toBe(++expected);

    // Function code: editing a module the handler imports is new code.
    const beforeEdit = runs(project, "summarize");
    const cached = await run(project, "wf.yaml");
    expect(runs(project, "summarize")).toBe(beforeEdit);
    expect(hits(cached, "summarize")).toBe(1);
    writeFileSync(join(project, "helper.ts"), "export const factor = 3;\n");
    const edited = await run(project, "wf.yaml");
    expect(runs(project, "summarize")).toBe(beforeEdit + 1);
    expect(hits(edited, "summarize")).toBe(0);

    // --no-cache runs everything, and the entry it refreshes answers the next run.
    const fresh = await run(project, "wf.yaml", ["--no-cache"]);
    expect(hits(fresh, "count")).toBe(0);
    expect(runs(project, "count")).toBe(++expected);
    const again = await run(project, "wf.yaml");
    expect(hits(again, "count")).toBe(1);
    expect(again.output).toEqual(fresh.output);

    const ls = await ferry(["cache", "ls", "--json"], { cwd: project });
    expect(ls.code, ls.stderr).toBe(0);
    const entries = JSON.parse(ls.stdout) as Array<{ step: string; key: string }>;
    expect(entries.filter((e) => e.step === "count").length).toBeGreaterThanOrEqual(7);
    const rm = await ferry(["cache", "rm", entries[0]!.key.slice(0, 12)], { cwd: project });
    expect(rm.stdout).toContain("removed 1 entry");
    expect((await ferry(["cache", "clear"], { cwd: project })).code).toBe(0);
    expect((await ferry(["cache", "ls"], { cwd: project })).stdout).toContain("empty");
  });

  it("treats a corrupted entry as a miss and repairs it, and an expired one as a miss", async () => {
    const project = tempProject();
    writeProject(project);
    writeFileSync(join(project, "wf.yaml"), processSpec());
    const first = await run(project, "wf.yaml");
    const entryFile = (step: string) => {
      const dir = join(project, ".ferry", "cache", "entries", "cache-correctness", "lab", step);
      return join(dir, readdirSync(dir)[0]!);
    };
    // The output altered after it was written: its sha256 no longer matches.
    const entry = JSON.parse(readFileSync(entryFile("count"), "utf8"));
    entry.output.bytes = 999;
    writeFileSync(entryFile("count"), JSON.stringify(entry));
    const repaired = await run(project, "wf.yaml");
    expect(hits(repaired, "count")).toBe(0);
    expect(runs(project, "count")).toBe(2);
    expect((repaired.output.summarize as { scaled: number }).scaled).toBe(28);
    // A damaged output file (blob): a miss too, never the wrong bytes.
    const blobs = join(project, ".ferry", "cache", "blobs");
    for (const blob of readdirSync(blobs)) writeFileSync(join(blobs, blob), "tampered\n");
    const reran = await run(project, "wf.yaml");
    expect(hits(reran, "count")).toBe(0);
    expect(runs(project, "count")).toBe(3);
    // Both repaired: the next run hits.
    const hit = await run(project, "wf.yaml");
    expect(hits(hit, "count")).toBe(1);
    expect(first.status).toBe("SUCCEEDED");

    writeFileSync(
      join(project, "ttl.yaml"),
      processSpec()
        .replace("defaults:\n  cache: true", "defaults:\n  cache: { ttl: 1s }")
        .replace("cache-correctness", "cache-ttl"),
    );
    await run(project, "ttl.yaml");
    const ranBefore = runs(project, "count");
    await new Promise((r) => setTimeout(r, 1500));
    const expired = await run(project, "ttl.yaml");
    expect(hits(expired, "count")).toBe(0);
    expect(runs(project, "count")).toBe(ranBefore + 1);
  });

  it("runs concurrent identical steps once: the others wait for its entry", async () => {
    const project = tempProject();
    writeFileSync(
      join(project, "fan.yaml"),
      `version: "1.1"
name: cache-concurrent
sites:
  lab: { type: edge }
steps:
  - name: list
    site: lab
    process: { command: ["sh", "-c", "echo '{\\"items\\": [5, 5, 5, 5, 5, 5]}'"] }
  - name: work
    depends: [list]
    site: lab
    foreach: { items: deps.list.items, maxConcurrency: 6 }
    cache: true
    process: { command: ["sh", "-c", "echo work >> ran.log; sleep 1; echo '{\\"done\\": true}'"] }
`,
    );
    const record = await run(project, "fan.yaml");
    expect(runs(project, "work")).toBe(1);
    expect(hits(record, "work")).toBe(5);
  });

  it("records provenance that reproduces the DAG and names the producing run of every output file", async () => {
    const project = tempProject();
    writeProject(project);
    writeFileSync(join(project, "wf.yaml"), processSpec());
    const first = await run(project, "wf.yaml");
    const second = await run(project, "wf.yaml");
    const json = await ferry(["provenance", second.runId, "--format", "prov-json"], { cwd: project });
    expect(json.code, json.stderr).toBe(0);
    const prov = JSON.parse(json.stdout) as {
      activity: Record<string, unknown>;
      wasInformedBy: Record<string, { "prov:informed": string; "prov:informant": string }>;
      wasGeneratedBy: Record<string, { "prov:entity": string; "prov:activity": string }>;
      entity: Record<string, { "ferry:key"?: string }>;
    };
    // The DAG: each informed-by edge is a spec dependency.
    const stepOf = (activity: string) => activity.split("/").at(-2);
    const edges = Object.values(prov.wasInformedBy)
      .map((e) => `${stepOf(e["prov:informant"])}->${stepOf(e["prov:informed"])}`)
      .sort();
    expect(edges).toEqual(["count->summarize", "source->count"]);
    // Every output file is generated by an attempt of a named run: count.txt by the first (cached since), raw.txt by this one.
    const generated = Object.values(prov.wasGeneratedBy).filter((g) =>
      g["prov:entity"].startsWith("ferry:file/"),
    );
    const byKey = new Map(
      generated.map((g) => [prov.entity[g["prov:entity"]]?.["ferry:key"], g["prov:activity"]]),
    );
    const countFile = [...byKey.keys()].find((k) => k?.endsWith("/count.txt"))!;
    expect(byKey.get(countFile)).toContain(first.runId);
    const rawFile = [...byKey.keys()].find((k) => k?.endsWith("/raw.txt"))!;
    expect(byKey.get(rawFile)).toContain(second.runId);

    const table = await ferry(["provenance", second.runId], { cwd: project });
    expect(table.stdout).toMatch(/count\s+1\s+succeeded\s+hit/);
    const dot = await ferry(["provenance", "last", "--format", "dot"], { cwd: project });
    expect(dot.stdout).toContain('"step:source" -> "step:count"');
    const file = await ferry(["provenance", "--file", "count.txt", "--json"], { cwd: project });
    const uses = JSON.parse(file.stdout) as Array<{ run: string; role: string; producedBy?: string }>;
    expect(uses.filter((u) => u.role === "produced").map((u) => u.producedBy)).toEqual([
      expect.stringContaining(first.runId),
      expect.stringContaining(first.runId),
    ]);
  });
});

describe("step cache with container steps (real Docker engine)", () => {
  const image = `ferry-cache-test/${randomUUID().slice(0, 8)}:1`;
  const build = (label: string) =>
    execFileSync("docker", ["build", "-q", "-t", image, "-"], {
      input: `FROM ${TEST_IMAGE}\nLABEL ferry.cache.test=${label}\n`,
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["pipe", "pipe", "pipe"],
    });
  beforeAll(async () => {
    await requireDocker();
    await requireTestImage();
    build("1");
  });
  afterAll(() => {
    execFileSync("docker", ["rmi", "-f", image]);
  });

  it("misses when the tag moves to another image digest", async () => {
    const project = tempProject();
    writeFileSync(
      join(project, "c.yaml"),
      `name: cache-image
sites: { lab: { type: edge } }
steps:
  - name: boxed
    site: lab
    cache: true
    container: { image: "${image}", command: ["sh", "-c", "echo '{\\"at\\": \\"'$(date +%s%N)'\\"}'"] }
`,
    );
    const first = await run(project, "c.yaml");
    const second = await run(project, "c.yaml");
    expect(hits(second, "boxed")).toBe(1);
    expect(second.output).toEqual(first.output);
    build("2");
    const third = await run(project, "c.yaml");
    expect(hits(third, "boxed")).toBe(0);
    expect(third.output).not.toEqual(first.output);
  });
});
