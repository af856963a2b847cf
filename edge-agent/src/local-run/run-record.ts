import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** What `ferry run` records in `.ferry/runs/<run-id>/run.json`. */
export interface RunRecord {
  runId: string;
  workflow: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  input: unknown;
  output?: unknown;
  /** The failing step's error, when the run failed. */
  error?: { step?: string; error: string; cause: string };
  /** Set when this run resumed an earlier one. */
  resumedFrom?: string;
  /** `--no-cache`: no step was answered from the cache. */
  noCache?: boolean;
  specFile: string;
  /** The `ferry run` process while the run is RUNNING, so `ferry stop <run-id>` can cancel it. */
  pid?: number;
  steps: StepRecord[];
}

export type RunStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type StepStatus = "PENDING" | "RUNNING" | "RETRYING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface StepRecord {
  name: string;
  site: string;
  /** The steps this one waits for (the DAG's edges). */
  depends?: string[];
  status: StepStatus;
  /** Attempts started (for a foreach step, over all its items). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  error?: string;
  cause?: string;
  /** Log of the latest attempt, relative to the run folder. */
  logPath?: string;
  /** True when a resumed run reused this step's earlier output instead of running it. */
  reused?: boolean;
  /** Attempts (foreach items) the step cache answered without running anything. */
  cacheHits?: number;
  /** The run that actually ran the step, when the latest cache hit answered it. */
  cachedFrom?: string;
}

/** Folder of all local runs of a project. */
export function runsRoot(projectDir: string): string {
  return join(projectDir, ".ferry", "runs");
}

/** The project's step cache (`ferry cache`). */
export function cacheRoot(projectDir: string): string {
  return join(projectDir, ".ferry", "cache");
}

/** Sortable, readable and unique: `20261122-001052-3f9a1c`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/** Writes atomically (temp file + rename): a reader never sees half a record. */
export async function writeRunRecord(runDir: string, record: RunRecord): Promise<void> {
  await mkdir(runDir, { recursive: true });
  const temp = join(runDir, `.run.json.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temp, join(runDir, "run.json"));
}

export async function readRunRecord(runDir: string): Promise<RunRecord> {
  return JSON.parse(await readFile(join(runDir, "run.json"), "utf8")) as RunRecord;
}

/** Every recorded run, newest first; unreadable folders are skipped. */
export async function listRuns(projectDir: string): Promise<RunRecord[]> {
  let names: string[];
  try {
    names = await readdir(runsRoot(projectDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return []; // no run yet
    throw error;
  }
  const records = await Promise.all(
    names
      .sort()
      .reverse()
      .map((name) => readRunRecord(join(runsRoot(projectDir), name)).catch(() => undefined)),
  );
  return records.filter((r): r is RunRecord => r !== undefined);
}
