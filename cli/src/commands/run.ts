import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type CompiledWorkflow,
  compileSpecFile,
  findProjectRoot,
  formatDiagnostic,
  formatInputDiagnostic,
  validateWorkflowInput,
} from "@ferry/dsl-compiler";
import { secretUses } from "@ferry/dsl-compiler/contract";
import { isAgentError } from "@ferry/edge-agent";
import { listRuns, type RunRecord, readRunRecord, runsRoot, runWorkflow } from "@ferry/edge-agent/local-run";
import {
  AwsSecretResolver,
  EnvSecretResolver,
  type SecretResolver,
  secretCacheSeconds,
} from "@ferry/functions/secrets";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { SPLIT_LIMIT_FLAG, SPLIT_LIMIT_USAGE, splitLimitOption } from "../support/split-limit.ts";
import { describeWatch, watchTriggers } from "../support/watch-triggers.ts";

export const runCommand: CliCommand = {
  usage: `Usage: ferry run <spec.yaml> [--input JSON | --input-file F] [--concurrency N]
                 [--site-concurrency SITE=N]... [--json] [--resume RUN_ID] [--no-cache]
                 [--split-limit N]
       ferry run --watch <spec.yaml> [--watch-dir DIR] [--max-runs N] [--concurrency N]

Compiles the spec and runs its state machine on this machine: processes as
child processes, containers through Docker, functions in-process, HTTP steps
with fetch. Runs are recorded under .ferry/runs/<run-id>/ (run.json, logs/,
files/). Exits 0 only if the workflow succeeded, 130 when cancelled (Ctrl-C).

  --input JSON          the workflow input (default {})
  --input-file F        read the input from a JSON file
  --concurrency N       steps running at once per site (default: CPUs, at least 4)
  --site-concurrency S=N  override for one site (repeatable)
  --json                print the run record as the last line of stdout
  --resume RUN_ID       rerun only what failed or did not finish in RUN_ID ("last" for the latest run)
  --no-cache            run every step, even those the step cache could answer (cache: steps
                        still refresh their entries); see ferry cache
${SPLIT_LIMIT_USAGE}

  --watch               fire the spec's triggers: each schedule by its rate or cron
                        expression (UTC), each s3 trigger on new files under --watch-dir
                        matching its prefix and suffix; every firing is a run with the
                        trigger's templated input, one run at a time. Ctrl-C stops (130).
  --watch-dir DIR       the folder standing in for the s3 triggers' buckets (keys are
                        paths relative to it; files already there do not fire)
  --max-runs N          with --watch, stop after N runs (exit 0 only if all succeeded)`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        input: { type: "string" },
        "input-file": { type: "string" },
        concurrency: { type: "string" },
        "site-concurrency": { type: "string", multiple: true },
        json: { type: "boolean" },
        resume: { type: "string" },
        "no-cache": { type: "boolean" },
        watch: { type: "boolean" },
        "watch-dir": { type: "string" },
        "max-runs": { type: "string" },
        ...SPLIT_LIMIT_FLAG,
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    const specFile = resolve(io.cwd, positionals[0]!);
    if (!values.watch && (values["watch-dir"] !== undefined || values["max-runs"] !== undefined))
      throw new UsageError("--watch-dir and --max-runs go with --watch");
    if (values.watch && (values.input !== undefined || values["input-file"] !== undefined || values.resume))
      throw new UsageError(
        "with --watch each run's input comes from its trigger: drop --input, --input-file and --resume",
      );
    const maxRuns =
      values["max-runs"] === undefined ? undefined : positiveInt(values["max-runs"], "--max-runs");
    const input = values.watch ? {} : await readInput(values.input, values["input-file"], io.cwd);
    const concurrency =
      values.concurrency === undefined ? undefined : positiveInt(values.concurrency, "--concurrency");
    const siteConcurrency = Object.fromEntries(
      (values["site-concurrency"] ?? []).map((pair) => {
        const [site, n] = pair.split("=");
        if (!site || n === undefined)
          throw new UsageError(`--site-concurrency expects SITE=N, got "${pair}"`);
        return [site, positiveInt(n, `--site-concurrency ${site}`)];
      }),
    );

    const { compiled, diagnostics } = await compileSpecFile(
      specFile,
      splitLimitOption(values["split-limit"]),
    );
    for (const d of diagnostics) io.stderr(`${formatDiagnostic(positionals[0]!, d)}\n`);
    if (!compiled) return 1;
    if (values.watch) {
      return watch(compiled, {
        specFile,
        io,
        json: Boolean(values.json),
        ...(values["watch-dir"] !== undefined ? { watchDir: resolve(io.cwd, values["watch-dir"]) } : {}),
        ...(maxRuns !== undefined ? { maxRuns } : {}),
        ...(concurrency ? { concurrency } : {}),
        siteConcurrency,
      });
    }
    const inputProblems = validateWorkflowInput(compiled.ir, input);
    for (const d of inputProblems) io.stderr(`${formatInputDiagnostic("--input", d)}\n`);
    if (inputProblems.length > 0) return 1;
    for (const site of Object.keys(siteConcurrency)) {
      if (!compiled.ir.sites[site])
        throw new UsageError(`--site-concurrency names site "${site}", which the workflow does not declare`);
    }
    const projectDir = findProjectRoot(dirname(specFile));
    const resumeFrom = values.resume ? await loadRun(projectDir, values.resume) : undefined;
    if (resumeFrom && resumeFrom.record.workflow !== compiled.ir.name) {
      throw new UsageError(
        `run ${resumeFrom.record.runId} is of workflow "${resumeFrom.record.workflow}", not "${compiled.ir.name}"`,
      );
    }

    const secrets = localSecrets(compiled.ir, io.env);
    let result: Awaited<ReturnType<typeof runWorkflow>>;
    try {
      result = await runWorkflow(compiled, {
        ...(secrets ? { secrets } : {}),
        specFile: relative(projectDir, specFile),
        projectDir,
        input,
        ...(concurrency ? { concurrency } : {}),
        siteConcurrency,
        ...(resumeFrom ? { resumeFrom } : {}),
        ...(values["no-cache"] ? { noCache: true } : {}),
        signal: io.signal,
        view: { write: (text) => io.stderr(text), isTTY: io.isTTY && !values.json },
      });
    } catch (error) {
      secrets?.destroy?.();
      if (isAgentError(error, "RUNTIME_UNAVAILABLE")) {
        io.stderr(
          `ferry run: ${(error as Error).message}\n  hint: container steps need a Docker engine (on Debian/Ubuntu: sudo apt-get install docker.io && sudo systemctl start docker)\n`,
        );
        return 1;
      }
      throw error;
    }
    secrets?.destroy?.();
    report(result.record, relative(io.cwd, result.runDir) || ".", io, Boolean(values.json));
    if (values.json) io.stdout(`${JSON.stringify(result.record)}\n`);
    return result.record.status === "SUCCEEDED" ? 0 : result.record.status === "CANCELLED" ? 130 : 1;
  },
};

interface WatchOptions {
  specFile: string;
  io: CliIo;
  json: boolean;
  watchDir?: string;
  maxRuns?: number;
  concurrency?: number;
  siteConcurrency: Record<string, number>;
}

/** `ferry run --watch`: fires the spec's schedules and file triggers, one run per firing, until Ctrl-C or --max-runs. */
async function watch(compiled: CompiledWorkflow, options: WatchOptions): Promise<number> {
  const { io, watchDir } = options;
  const ir = compiled.ir;
  const fires = (ir.triggers ?? []).filter(
    (t) => t.enabled && (t.source.kind === "schedule" || (t.source.kind === "s3" && watchDir)),
  );
  if (fires.length === 0) {
    throw new UsageError(
      (ir.triggers ?? []).some((t) => t.enabled && t.source.kind === "s3")
        ? "the spec's s3 triggers fire on files dropped into a folder: give --watch-dir DIR"
        : "the spec has no enabled schedule or s3 trigger for --watch to fire (add triggers: to it)",
    );
  }
  if (watchDir) {
    const dir = await stat(watchDir).catch(() => undefined);
    if (!dir?.isDirectory()) throw new UsageError(`--watch-dir ${watchDir} is not a folder`);
  }
  const projectDir = findProjectRoot(dirname(options.specFile));
  const out = options.json ? io.stderr : io.stdout;
  let failed = 0;
  const secrets = localSecrets(ir, io.env);
  const runs = await watchTriggers({
    ir,
    onReady: () => {
      out(`watching ${ir.name} (Ctrl-C stops):\n`);
      for (const line of describeWatch(ir, watchDir && (relative(io.cwd, watchDir) || ".")))
        out(`  ${line}\n`);
    },
    ...(watchDir ? { watchDir } : {}),
    ...(options.maxRuns !== undefined ? { maxRuns: options.maxRuns } : {}),
    signal: io.signal,
    log: (line) => io.stderr(`${line}\n`),
    run: async (firing) => {
      out(`▶ trigger ${firing.trigger.name} fired (${firing.what})\n`);
      const problems = validateWorkflowInput(ir, firing.input);
      for (const d of problems) io.stderr(`${formatInputDiagnostic(`trigger ${firing.trigger.name}`, d)}\n`);
      if (problems.length > 0) {
        failed++;
        return;
      }
      let result: Awaited<ReturnType<typeof runWorkflow>>;
      try {
        result = await runWorkflow(compiled, {
          ...(secrets ? { secrets } : {}),
          specFile: relative(projectDir, options.specFile),
          projectDir,
          input: firing.input,
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          siteConcurrency: options.siteConcurrency,
          signal: io.signal,
          view: { write: (text) => io.stderr(text), isTTY: false },
        });
      } catch (error) {
        // One run that cannot start (no Docker engine, say) is reported; the watch goes on.
        io.stderr(`ferry run: trigger ${firing.trigger.name}: ${(error as Error).message}\n`);
        failed++;
        return;
      }
      report(result.record, relative(io.cwd, result.runDir) || ".", io, options.json);
      if (options.json) io.stdout(`${JSON.stringify(result.record)}\n`);
      if (result.record.status !== "SUCCEEDED") failed++;
    },
  });
  secrets?.destroy?.();
  if (io.signal.aborted) {
    io.stderr(`■ watch stopped after ${runs} run${runs === 1 ? "" : "s"}; nothing is left running\n`);
    return 130;
  }
  out(`watch done: ${runs} run${runs === 1 ? "" : "s"}, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

/**
 * Secrets for a local run: `FERRY_SECRET_<REFERENCE>` variables first (see
 * `secretOverrideEnvName`), then SSM and Secrets Manager when AWS access is
 * configured (credentials, a profile or an endpoint); otherwise a step
 * that needs one fails with an error naming it and the variable to set.
 * Undefined when no step references a secret.
 */
function localSecrets(
  ir: {
    steps: Array<{ runtime: Parameters<typeof secretUses>[0] }>;
    sites: Record<string, { type: string; region?: string }>;
    notify?: { http?: unknown };
  },
  env: NodeJS.ProcessEnv,
): (SecretResolver & { destroy?: () => void }) | undefined {
  // The notify callback's signing key is a secret too.
  if (!ir.notify?.http && !ir.steps.some((s) => secretUses(s.runtime).length > 0)) return undefined;
  const configured = [
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  ].some((name) => env[name]);
  if (!configured) return new EnvSecretResolver(env);
  const region =
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    Object.values(ir.sites).find((s) => s.type === "aws")?.region ??
    "us-east-1";
  const aws = AwsSecretResolver.fromConfig(
    {
      region,
      ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
      ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            credentials: {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
            },
          }
        : {}),
    },
    undefined,
    secretCacheSeconds(env),
  );
  return Object.assign(new EnvSecretResolver(env, aws), { destroy: () => aws.destroy() });
}

function report(record: RunRecord, runDir: string, io: CliIo, json: boolean): void {
  const seconds = ((record.durationMs ?? 0) / 1000).toFixed(2);
  const out = json ? io.stderr : io.stdout;
  const hits = record.steps.filter((s) => s.cacheHits);
  const cached = hits.length > 0 ? `, ${hits.length} step${hits.length === 1 ? "" : "s"} from the cache` : "";
  if (record.status === "SUCCEEDED") {
    out(`✓ ${record.workflow} succeeded in ${seconds}s${cached} — run ${record.runId} (${runDir})\n`);
    if (!json) out(`${JSON.stringify(record.output, null, 2)}\n`);
    return;
  }
  if (record.status === "CANCELLED") {
    io.stderr(
      `■ ${record.workflow} cancelled after ${seconds}s — run ${record.runId}; nothing is left running\n`,
    );
    return;
  }
  const failed = record.steps.find((s) => s.name === record.error?.step);
  io.stderr(`✗ ${record.workflow} failed after ${seconds}s — run ${record.runId}\n`);
  io.stderr(
    `  step ${record.error?.step ?? "?"} failed${failed ? ` after ${failed.attempts} attempt${failed.attempts === 1 ? "" : "s"}` : ""}: ${record.error?.error}: ${record.error?.cause}\n`,
  );
  if (failed?.logPath) io.stderr(`${tailOfLog(join(runDir, failed.logPath))}`);
  io.stderr(
    `  see the whole log: npx ferry logs ${record.runId}${failed ? ` ${failed.name}` : ""}\n  rerun what failed: npx ferry run ${record.specFile} --resume ${record.runId}\n`,
  );
}

function tailOfLog(path: string): string {
  // Read synchronously at the very end of a run: a failed run's log is small and already written.
  try {
    const lines = readFileSync(path, "utf8").trimEnd().split("\n").slice(-12);
    return `  --- last lines of ${path} ---\n${lines.map((l) => `  | ${l}`).join("\n")}\n`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
}

async function readInput(
  inline: string | undefined,
  file: string | undefined,
  cwd: string,
): Promise<unknown> {
  if (inline !== undefined && file !== undefined)
    throw new UsageError("pass --input or --input-file, not both");
  const text = inline ?? (file !== undefined ? await readFile(resolve(cwd, file), "utf8") : "{}");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the workflow input is not JSON (${(error as Error).message})`);
  }
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${what} must be a positive integer, got "${text}"`);
  return n;
}

/** Loads a recorded run by id, or the latest with "last". */
export async function loadRun(
  projectDir: string,
  id: string,
): Promise<{ record: RunRecord; runDir: string }> {
  const runId = id === "last" ? (await listRuns(projectDir))[0]?.runId : id;
  if (!runId) throw new UsageError("there is no earlier run in this project");
  const runDir = join(runsRoot(projectDir), runId);
  try {
    return { record: await readRunRecord(runDir), runDir };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new UsageError(`no run "${id}" under ${runsRoot(projectDir)} (list them with: npx ferry runs)`);
  }
}
