import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import {
  applyInputTemplate,
  type IrTrigger,
  keyMatches,
  nextFire,
  objectCreatedEvent,
  parseSchedule,
  type Schedule,
  scheduledEvent,
  type WorkflowIr,
} from "@ferry/dsl-compiler";

/** One firing of a trigger: the event EventBridge would deliver and the input it gives the run. */
export interface TriggerFiring {
  trigger: IrTrigger;
  event: Record<string, unknown>;
  input: unknown;
  /** What fired it, for the log: the schedule time or the file's key. */
  what: string;
}

export interface WatchTriggersOptions {
  ir: WorkflowIr;
  /** Folder standing in for the buckets of `s3` triggers; object keys are paths relative to it. */
  watchDir?: string;
  /** Runs one firing to its end; firings queue up and run one at a time. */
  run(firing: TriggerFiring): Promise<void>;
  log(line: string): void;
  /** Called once the watch folder's files at the start are recorded: files written from now on fire. */
  onReady?(): void;
  signal: AbortSignal;
  /** Stop after this many runs. @default no limit */
  maxRuns?: number;
  /** How often the folder is scanned and schedules are checked. @default 1000 */
  pollMs?: number;
  /** Firings waiting for a run beyond this are dropped, with a warning. @default 100 */
  maxQueued?: number;
  /** Files scanned in the watch folder at most. @default 10000 */
  maxFiles?: number;
  now?: () => number;
}

/** Bucket name an `s3` trigger's local events carry when it watches the workflow's own job-files bucket. */
export const LOCAL_JOB_BUCKET = "job-files";

/**
 * Fires a workflow's triggers on this machine until the signal aborts or
 * `maxRuns` runs have finished: schedules by their rate or cron expression
 * (a rate counted from the start of the watch, as EventBridge counts from a
 * rule's creation), `s3` triggers by files that appear (or change) under
 * `watchDir` and match their prefix and suffix — once a file's size and
 * modification time hold still for one scan, so a half-written file does not
 * fire. Files already there when the watch starts do not fire. `event`
 * triggers and disabled triggers never fire here. Returns the number of runs.
 */
export async function watchTriggers(options: WatchTriggersOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1000;
  const maxQueued = options.maxQueued ?? 100;
  const triggers = (options.ir.triggers ?? []).filter((t) => t.enabled);
  const started = new Date(now());
  const schedules = triggers.flatMap((t) => {
    if (t.source.kind !== "schedule") return [];
    const schedule = parseSchedule(t.source.expression);
    const next = nextFire(schedule, started, started);
    return next ? [{ trigger: t, schedule, next }] : [];
  }) as Array<{ trigger: IrTrigger; schedule: Schedule; next: Date | undefined }>;
  const fileTriggers = options.watchDir ? triggers.filter((t) => t.source.kind === "s3") : [];
  const seen = options.watchDir ? await scan(options.watchDir, options.maxFiles ?? 10_000) : new Map();
  options.onReady?.();
  const pending = new Map<string, FileState>();
  const queue: TriggerFiring[] = [];
  let runs = 0;
  let running: Promise<void> | undefined;

  const enqueue = (firing: TriggerFiring) => {
    if (queue.length >= maxQueued) {
      options.log(
        `trigger ${firing.trigger.name}: ${firing.what} dropped, ${maxQueued} firings already wait`,
      );
      return;
    }
    queue.push(firing);
  };
  const done = () => options.signal.aborted || (options.maxRuns !== undefined && runs >= options.maxRuns);

  while (!done()) {
    const at = new Date(now());
    for (const s of schedules) {
      while (s.next && s.next.getTime() <= at.getTime()) {
        const event = scheduledEvent(s.trigger.name, { time: s.next });
        enqueue({
          trigger: s.trigger,
          event,
          input: applyInputTemplate(s.trigger.input, event),
          what: s.next.toISOString(),
        });
        s.next = nextFire(s.schedule, s.next, started);
      }
    }
    if (options.watchDir && fileTriggers.length > 0) {
      const current = await scan(options.watchDir, options.maxFiles ?? 10_000);
      for (const [key, state] of current) {
        const before = seen.get(key);
        if (before && before.size === state.size && before.mtimeMs === state.mtimeMs) continue;
        const waiting = pending.get(key);
        if (!waiting || waiting.size !== state.size || waiting.mtimeMs !== state.mtimeMs) {
          pending.set(key, state);
          continue;
        }
        // Unchanged for one scan: the file is complete.
        pending.delete(key);
        seen.set(key, state);
        for (const trigger of fileTriggers) {
          if (trigger.source.kind !== "s3" || !keyMatches(key, trigger.source.prefix, trigger.source.suffix))
            continue;
          const event = objectCreatedEvent(trigger.source.bucket ?? LOCAL_JOB_BUCKET, {
            key,
            size: state.size,
          });
          enqueue({ trigger, event, input: applyInputTemplate(trigger.input, event), what: key });
        }
      }
      for (const key of seen.keys()) if (!current.has(key)) seen.delete(key);
    }
    if (!running && queue.length > 0) {
      const firing = queue.shift()!;
      running = options.run(firing).finally(() => {
        runs++;
        running = undefined;
      });
    }
    await Promise.race([sleep(pollMs, options.signal), ...(running ? [running] : [])]);
  }
  if (running) await running;
  return runs;
}

interface FileState {
  size: number;
  mtimeMs: number;
}

/** Files under `dir` by key (path relative to it, `/`-separated); dot-folders such as `.ferry` are skipped. */
async function scan(dir: string, maxFiles: number): Promise<Map<string, FileState>> {
  const files = new Map<string, FileState>();
  const walk = async (folder: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      if (files.size >= maxFiles) return;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".")) await walk(path);
      } else if (entry.isFile()) {
        try {
          const s = await stat(path);
          files.set(relative(dir, path).split(sep).join("/"), { size: s.size, mtimeMs: s.mtimeMs });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
    }
  };
  await walk(dir);
  return files;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** One line per trigger saying what `ferry run --watch` does with it. */
export function describeWatch(
  ir: WorkflowIr,
  watchDir: string | undefined,
  now: Date = new Date(),
): string[] {
  return (ir.triggers ?? []).map((t) => {
    if (!t.enabled) return `trigger ${t.name}: disabled, not fired`;
    const source = t.source;
    switch (source.kind) {
      case "schedule": {
        const next = nextFire(parseSchedule(source.expression), now, now);
        return `trigger ${t.name}: ${source.expression}, ${next ? `next at ${next.toISOString()}` : "never fires again"}`;
      }
      case "s3": {
        const filter = `${source.prefix ?? ""}*${source.suffix ?? ""}`;
        return watchDir
          ? `trigger ${t.name}: new files under ${watchDir} matching ${filter}`
          : `trigger ${t.name}: s3 trigger not watched (give --watch-dir DIR to fire it on files dropped there)`;
      }
      default:
        return `trigger ${t.name}: EventBridge event pattern, fired only when deployed`;
    }
  });
}
