import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  listRuns,
  type RunEvent,
  type RunRecord,
  readRunEvents,
  readRunRecord,
  runsRoot,
  type StepRecord,
  stopLocalRun,
} from "@ferry/edge-agent/local-run";
import { LayoutCache } from "../graph-layout.ts";
import { predictTimeline } from "../prediction.ts";
import type {
  AttemptView,
  GraphLayout,
  LogFile,
  Prediction,
  RunSummary,
  RunView,
  StepView,
} from "../run-view.ts";
import { logTail, matches, type RunFilter, type RunSource } from "./run-source.ts";

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;
const POLL_MS = 250;
/** Inputs and outputs kept per step (a foreach step has one per item). */
const VALUES_KEPT = 5;
const FERRY_BIN = fileURLToPath(new URL("../../../bin/ferry.js", import.meta.url));

/**
 * Local runs under `.ferry/runs`: `run.json` for the summary, its
 * `events.ndjson` for live steps, attempts, inputs and outputs.
 */
export class LocalRunSource implements RunSource {
  readonly kind = "local" as const;
  private readonly layouts = new LayoutCache();
  private readonly predictions = new Map<string, Promise<Prediction>>();

  /** `topologyFile`: simulate each run's spec on it for the predicted timeline. */
  constructor(
    private readonly projectDir: string,
    private readonly options: { topologyFile?: string } = {},
  ) {}

  async prediction(id: string): Promise<Prediction | undefined> {
    const topology = this.options.topologyFile;
    const loaded = topology ? await this.load(id) : undefined;
    if (!topology || !loaded) return undefined;
    const spec = join(this.projectDir, loaded.record.specFile);
    let prediction = this.predictions.get(spec);
    if (!prediction) {
      prediction = predictTimeline(spec, topology);
      // A spec that does not simulate is not cached: the user may fix it while the server runs.
      prediction.catch(() => this.predictions.delete(spec));
      this.predictions.set(spec, prediction);
    }
    return prediction;
  }

  owns(id: string): boolean {
    return RUN_ID.test(id);
  }

  async list(filter: RunFilter): Promise<RunSummary[]> {
    return (await listRuns(this.projectDir)).map(summaryOf).filter((r) => matches(r, filter));
  }

  async get(id: string): Promise<RunView | undefined> {
    const loaded = await this.load(id);
    if (!loaded) return undefined;
    const { events } = await readRunEvents(loaded.runDir);
    return viewOf(loaded.record, events);
  }

  async graph(id: string): Promise<GraphLayout | undefined> {
    const loaded = await this.load(id);
    if (!loaded) return undefined;
    const steps = loaded.record.steps.map((s) => ({ name: s.name, depends: s.depends ?? [] }));
    return this.layouts.layout(steps);
  }

  async logs(id: string, step: string): Promise<LogFile[] | undefined> {
    const loaded = await this.load(id);
    if (!loaded) return undefined;
    if (!loaded.record.steps.some((s) => s.name === step)) return undefined;
    const dir = join(loaded.runDir, "logs");
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((f) => f.startsWith(`${step}.attempt-`))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return Promise.all(names.map(async (n) => logTail(n, await readFile(join(dir, n), "utf8"))));
  }

  async follow(
    id: string,
    on: { onSteps(steps: StepView[]): void; onEnd(run: RunView): void },
    signal: AbortSignal,
  ): Promise<void> {
    const loaded = await this.load(id);
    if (!loaded) return;
    let offset = 0;
    const steps = new Map<string, StepView>();
    const all: RunEvent[] = [];
    while (!signal.aborted) {
      const read = await readRunEvents(loaded.runDir, offset);
      offset = read.nextOffset;
      all.push(...read.events);
      const changed = new Set<string>();
      for (const e of read.events) if (e.type === "step" || e.type === "attempt") changed.add(stepName(e));
      if (changed.size > 0) {
        const record = await readRunRecord(loaded.runDir);
        const view = viewOf(record, all);
        for (const s of view.steps) steps.set(s.name, s);
        on.onSteps([...changed].map((n) => steps.get(n)).filter((s): s is StepView => s !== undefined));
      }
      if (read.events.some((e) => e.type === "run") || (await ended(loaded.runDir))) {
        const final = await this.get(id);
        if (final && final.status !== "RUNNING") {
          on.onEnd(final);
          return;
        }
      }
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  async cancel(id: string): Promise<string> {
    const record = await stopLocalRun(this.projectDir, id, { timeoutMs: 15_000 });
    return `run ${id} ${record.status}`;
  }

  /**
   * Runs `ferry run <spec> --resume <id>` as its own process, so the new run
   * outlives the UI server, and answers the new run's id once it is recorded.
   */
  async resume(id: string): Promise<string> {
    const loaded = await this.load(id);
    if (!loaded) throw new Error(`no run ${id}`);
    if (loaded.record.status === "RUNNING") throw new Error(`run ${id} is still running: cancel it first`);
    return this.launch(
      `resume-${id}`,
      ["--resume", id],
      loaded.record.specFile,
      (r) => r.resumedFrom === id && r.startedAt >= loaded.startedSearch,
    );
  }

  /** `ferry run <spec> --input-file F`, as its own process like {@link resume}; answers the new run's id. */
  async start(spec: { specFile: string }, input: unknown): Promise<string> {
    const since = new Date().toISOString();
    const inputPath = join(
      this.projectDir,
      ".ferry",
      "ui-actions",
      `start-input-${Date.now()}-${randomId()}.json`,
    );
    await mkdir(dirname(inputPath), { recursive: true });
    await writeFile(inputPath, JSON.stringify(input));
    const before = new Set((await listRuns(this.projectDir)).map((r) => r.runId));
    return this.launch(
      "start",
      ["--input-file", inputPath],
      spec.specFile,
      (r) => !before.has(r.runId) && r.specFile === spec.specFile && r.startedAt >= since,
    );
  }

  private async launch(
    what: string,
    args: string[],
    specFile: string,
    isNew: (r: RunRecord) => boolean,
  ): Promise<string> {
    // Its output goes to a file, not a pipe: the run must keep writing after this server has moved on (or gone).
    const outputPath = join(this.projectDir, ".ferry", "ui-actions", `${what}-${Date.now()}.log`);
    await mkdir(dirname(outputPath), { recursive: true });
    const output = await open(outputPath, "w");
    const child = spawn(process.execPath, [FERRY_BIN, "run", specFile, ...args], {
      cwd: this.projectDir,
      detached: true,
      stdio: ["ignore", output.fd, output.fd],
    });
    await output.close();
    let exit: number | null | undefined;
    child.on("exit", (code) => {
      exit = code;
    });
    child.unref();
    const shown = `ferry run ${specFile} ${args.join(" ")}`;
    for (let waited = 0; waited < 30_000; waited += 100) {
      const started = (await listRuns(this.projectDir)).find(isNew);
      if (started) return started.runId;
      if (exit !== undefined) {
        const said = (await readFile(outputPath, "utf8")).trim().slice(-2000);
        throw new Error(`${shown} exited ${exit}: ${said}`);
      }
      await sleep(100);
    }
    throw new Error(`${shown} recorded no run within 30 s`);
  }

  private async load(
    id: string,
  ): Promise<{ record: RunRecord; runDir: string; startedSearch: string } | undefined> {
    if (!this.owns(id)) return undefined;
    const runDir = join(runsRoot(this.projectDir), id);
    try {
      return { record: await readRunRecord(runDir), runDir, startedSearch: new Date().toISOString() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
}

function randomId(): string {
  return randomBytes(4).toString("hex");
}

async function ended(runDir: string): Promise<boolean> {
  return (await readRunRecord(runDir)).status !== "RUNNING";
}

function stepName(e: RunEvent): string {
  return e.type === "step" ? e.step.name : e.type === "run" ? "" : e.step;
}

function summaryOf(r: RunRecord): RunSummary {
  return {
    id: r.runId,
    source: "local",
    workflow: r.workflow,
    status: r.status,
    startedAt: r.startedAt,
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    stepCount: r.steps.length,
    ...(r.error?.step ? { failedStep: r.error.step } : {}),
  };
}

/** run.json's steps, brought up to date by the events while the run goes on. */
export function viewOf(record: RunRecord, events: RunEvent[]): RunView {
  const latest = new Map<string, StepRecord>(record.steps.map((s) => [s.name, s]));
  const attempts = new Map<string, AttemptView[]>();
  const inputs = new Map<string, unknown[]>();
  const outputs = new Map<string, unknown[]>();
  const live = record.status === "RUNNING";
  for (const e of events) {
    if (e.type === "step" && live) latest.set(e.step.name, e.step);
    else if (e.type === "attempt") {
      const list = attempts.get(e.step) ?? [];
      list.push({
        attempt: e.attempt,
        startedAt: e.startedAt,
        finishedAt: e.finishedAt,
        outcome: e.outcome,
        runtime: e.runtime,
        ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
        ...(e.error ? { error: e.error, cause: e.cause ?? "" } : {}),
        ...(e.logPath ? { log: e.logPath.replace(/^logs\//, "") } : {}),
      });
      attempts.set(e.step, list);
    } else if (e.type === "input" || e.type === "output") {
      const map = e.type === "input" ? inputs : outputs;
      const list = map.get(e.step) ?? [];
      if (list.length < VALUES_KEPT) list.push(e.value);
      map.set(e.step, list);
    }
  }
  const steps: StepView[] = [...latest.values()].map((s) => {
    const ins = inputs.get(s.name);
    const outs = outputs.get(s.name);
    return {
      name: s.name,
      site: s.site,
      depends: s.depends ?? [],
      status: s.status,
      attempts: s.attempts,
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
      ...(s.error ? { error: s.error, cause: s.cause ?? "" } : {}),
      ...(s.reused ? { reused: true } : {}),
      attemptList: attempts.get(s.name) ?? [],
      ...(ins ? { input: ins.length === 1 ? ins[0] : ins } : {}),
      ...(outs ? { output: outs.length === 1 ? outs[0] : outs } : {}),
    };
  });
  return {
    ...summaryOf(record),
    input: record.input,
    ...(record.output !== undefined ? { output: record.output } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.resumedFrom ? { resumedFrom: record.resumedFrom } : {}),
    specFile: record.specFile,
    steps,
    actions: { cancel: live, resume: record.status === "FAILED" || record.status === "CANCELLED" },
    retryNote:
      "The embedded runtime retries a failed step by resuming the run: succeeded steps are reused, what failed or did not finish runs again.",
  };
}
