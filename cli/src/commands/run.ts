import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
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

export const runCommand: CliCommand = {
  usage: `Usage: ferry run <spec.yaml> [--input JSON | --input-file F] [--concurrency N]
                 [--site-concurrency SITE=N]... [--json] [--resume RUN_ID]

Compiles the spec and runs its state machine on this machine: processes as
child processes, containers through Docker, functions in-process, HTTP steps
with fetch. Runs are recorded under .ferry/runs/<run-id>/ (run.json, logs/,
files/). Exits 0 only if the workflow succeeded, 130 when cancelled (Ctrl-C).

  --input JSON          the workflow input (default {})
  --input-file F        read the input from a JSON file
  --concurrency N       steps running at once per site (default: CPUs, at least 4)
  --site-concurrency S=N  override for one site (repeatable)
  --json                print the run record as the last line of stdout
  --resume RUN_ID       rerun only what failed or did not finish in RUN_ID ("last" for the latest run)`,
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
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    const specFile = resolve(io.cwd, positionals[0]!);
    const input = await readInput(values.input, values["input-file"], io.cwd);
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

    const { compiled, diagnostics } = await compileSpecFile(specFile);
    for (const d of diagnostics) io.stderr(`${formatDiagnostic(positionals[0]!, d)}\n`);
    if (!compiled) return 1;
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
  },
  env: NodeJS.ProcessEnv,
): (SecretResolver & { destroy?: () => void }) | undefined {
  if (!ir.steps.some((s) => secretUses(s.runtime).length > 0)) return undefined;
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
  if (record.status === "SUCCEEDED") {
    out(`✓ ${record.workflow} succeeded in ${seconds}s — run ${record.runId} (${runDir})\n`);
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
