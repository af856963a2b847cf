import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import {
  applyPlacement,
  buildSimModel,
  DEFAULT_RUNS,
  DEFAULT_SEED,
  type ExecutionTimeline,
  formatExplain,
  formatOptimization,
  formatPercent,
  formatReport,
  formatSeconds,
  formatSimDiagnostic,
  ganttHtml,
  ganttSvg,
  lineDiff,
  type Objective,
  optimizePlacement,
  prepareSimulation,
  type SimDiagnostic,
  simulate,
} from "@ferry/simulator";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, EXECUTION_ARN } from "../support/aws-flags.ts";
import { readText, runRecordPath, writeText } from "../support/read-input.ts";

const USAGE = `Usage: ferry simulate <spec> --topology <file> [options]

Predicts how the workflow behaves on the hardware the topology describes:
makespan (p50/p95 over runs), critical path, utilisation per site, bytes
crossing site boundaries and cost. Deterministic for a given seed.

Options:
  --topology, -t <file>     sites, devices, links and cloud service models (YAML or JSON)
  --runs <n>                simulated executions (default ${DEFAULT_RUNS})
  --seed <s>                seed of the random draws (default ${DEFAULT_SEED})
  --json                    print the report as JSON
  --gantt <out.svg|.html>   write a Gantt chart of the median run
  --calibrate <run-dir>     take step durations and the runtime's overheads from a ferry run
                            record (.ferry/runs/<id>)
  --calibrate <execution-arn>  the same from a deployed execution (its Step Functions history
                            and the agents' provenance records): step durations, state
                            transition and queue + agent terms
${AWS_FLAGS_USAGE}
  --explain                 print the runtime model's terms, where each came from and its
                            fitted spread, and the makespan's p50 and p95
  --optimize                search placements that respect the spec's constraints
  --objective <makespan|cost>  what --optimize minimises (default makespan)
  --max-evaluations <n>     placements --optimize simulates at most (default 300)
  --apply                   with --optimize: write the best placement's sites into the spec
                            (comments and formatting kept) and print the diff

Exits 0 when the simulation ran, 1 on errors in the inputs, 2 on usage errors.`;

export const simulateCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        topology: { type: "string", short: "t" },
        runs: { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean" },
        gantt: { type: "string" },
        calibrate: { type: "string" },
        ...AWS_FLAGS,
        explain: { type: "boolean" },
        optimize: { type: "boolean" },
        objective: { type: "string" },
        "max-evaluations": { type: "string" },
        apply: { type: "boolean" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name exactly one spec file");
    if (!values.topology) throw new UsageError("--topology <file> is required");
    const runs = integerOption("--runs", values.runs, DEFAULT_RUNS, 1, 1_000_000);
    const seed = integerOption("--seed", values.seed, DEFAULT_SEED, 0, 0xffffffff);
    const maxEvaluations = integerOption("--max-evaluations", values["max-evaluations"], 300, 1, 1_000_000);
    if (values.apply && !values.optimize) throw new UsageError("--apply needs --optimize");
    if (values.apply && values.json)
      throw new UsageError("--apply prints a diff; it does not combine with --json");
    if (values.objective !== undefined && !values.optimize)
      throw new UsageError("--objective needs --optimize");
    const objective = (values.objective ?? "makespan") as Objective;
    if (objective !== "makespan" && objective !== "cost")
      throw new UsageError(`--objective must be makespan or cost, got "${values.objective}"`);
    const gantt = values.gantt;
    const ganttKind = gantt === undefined ? undefined : ganttFormat(gantt);

    const specFile = positionals[0]!;
    const topologyFile = values.topology;
    const fromExecution = values.calibrate !== undefined && EXECUTION_ARN.test(values.calibrate);
    const recordFile =
      values.calibrate === undefined || fromExecution
        ? undefined
        : await runRecordPath(io.cwd, values.calibrate);
    let execution: ExecutionTimeline | undefined;
    if (fromExecution) {
      // The AWS clients load only for a calibration from a deployed execution.
      const [{ awsContextFor, reportDeployError }, { readExecutionTimeline }] = await Promise.all([
        import("../support/cloud-commands.ts"),
        import("../support/execution-timeline.ts"),
      ]);
      try {
        execution = await readExecutionTimeline(awsContextFor(values, io.env), values.calibrate!);
      } catch (error) {
        return reportDeployError("simulate", error, io);
      }
    }
    const files: Record<SimDiagnostic["source"], string> = {
      spec: specFile,
      topology: topologyFile,
      "run-record": recordFile ?? "run.json",
      instance: "",
    };
    const specText = await readText(io.cwd, specFile, "spec");
    const { prepared, diagnostics } = prepareSimulation({
      specText,
      topologyText: await readText(io.cwd, topologyFile, "topology"),
      ...(recordFile !== undefined
        ? { runRecordText: await readText(io.cwd, recordFile, "run record") }
        : {}),
      ...(execution ? { execution } : {}),
    });
    const errors = diagnostics.filter((d) => d.severity === "error");
    // A search can route around a dead link or an oversized step; it cannot invent a missing site.
    const searchable =
      values.optimize && errors.every((d) => d.code === "DEAD_LINK" || d.code === "STEP_DOES_NOT_FIT");
    if (!values.json) for (const d of diagnostics) io.stderr(`${formatSimDiagnostic(files[d.source], d)}\n`);
    if (!prepared || (errors.length > 0 && !searchable)) {
      if (values.json) io.stdout(`${JSON.stringify({ diagnostics }, null, 2)}\n`);
      else
        io.stderr(
          `ferry simulate: ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing simulated\n`,
        );
      return 1;
    }

    const model = buildSimModel(prepared.ir, prepared.topology, prepared.costs);
    const report = simulate(model, {
      runs,
      seed,
      trace: gantt !== undefined,
      topologyName: prepared.topology.name ?? basename(topologyFile),
    });
    const calibration = prepared.calibration && {
      stepsMeasured: prepared.calibration.stepsMeasured,
      ...(prepared.calibration.measuredMakespanSeconds !== undefined
        ? { measuredMakespanSeconds: prepared.calibration.measuredMakespanSeconds }
        : {}),
      ...(prepared.calibration.dispatchGapSeconds !== undefined
        ? { dispatchGapSeconds: prepared.calibration.dispatchGapSeconds }
        : {}),
      ...(prepared.calibration.startOverhead ? { startOverhead: prepared.calibration.startOverhead } : {}),
    };
    const optimization = values.optimize
      ? optimizePlacement(prepared, {
          objective,
          seed,
          runsPerEvaluation: Math.min(runs, 10),
          maxEvaluations,
        })
      : undefined;

    if (gantt !== undefined) {
      await writeText(
        io.cwd,
        gantt,
        ganttKind === "svg"
          ? ganttSvg(report.trace ?? [], { title: `${report.workflow} — median run` })
          : ganttHtml(report),
      );
    }
    if (values.json) {
      const { trace: _trace, ...plain } = report;
      io.stdout(
        `${JSON.stringify({ report: plain, ...(calibration ? { calibration } : {}), ...(optimization ? { optimization } : {}), diagnostics }, null, 2)}\n`,
      );
      return 0;
    }
    io.stdout(formatReport(report));
    const calibratedFrom = recordFile ?? values.calibrate;
    if (calibration) io.stdout(calibrationLine(calibration, report.makespanSeconds?.p50, calibratedFrom!));
    if (values.explain) io.stdout(`\n${formatExplain(prepared, report, calibratedFrom)}`);
    if (gantt !== undefined) io.stdout(`Gantt chart of run ${report.medianRun + 1}: ${gantt}\n`);
    if (optimization) io.stdout(`\n${formatOptimization(optimization)}`);
    if (optimization && values.apply) {
      if (optimization.moves.length === 0)
        io.stdout("\n--apply: the spec's placement is already the best found; nothing written\n");
      else {
        const placed = applyPlacement(specText, optimization.moves);
        await writeText(io.cwd, specFile, placed);
        io.stdout(
          `\n--apply: wrote ${optimization.moves.length} step site(s) into ${specFile}\n${lineDiff(specText, placed, { from: `${specFile} (before)`, to: specFile })}`,
        );
      }
    }
    return 0;
  },
};

function calibrationLine(
  c: {
    stepsMeasured: number;
    measuredMakespanSeconds?: number;
    dispatchGapSeconds?: number;
    dispatchGapMeanSeconds?: number;
    startOverhead?: { serialSeconds: number; fixedSeconds: number; spreadSeconds: number };
  },
  p50: number | undefined,
  file: string,
): string {
  let line = `calibration    ${c.stepsMeasured} step durations from ${file}`;
  if (c.measuredMakespanSeconds !== undefined) {
    line += `; that run took ${formatSeconds(c.measuredMakespanSeconds)}`;
    if (p50 !== undefined && c.measuredMakespanSeconds > 0)
      line += ` (prediction p50 off by ${formatPercent(Math.abs(p50 - c.measuredMakespanSeconds) / c.measuredMakespanSeconds)})`;
  }
  if (c.dispatchGapSeconds !== undefined)
    line += `; its dispatch gap was ${formatSeconds(c.dispatchGapSeconds)}${c.dispatchGapMeanSeconds === undefined ? "" : `, mean ${formatSeconds(c.dispatchGapMeanSeconds)}`} (used on \`runtime: embedded\` sites without their own dispatchLatency; --explain shows the terms)`;
  const o = c.startOverhead;
  if (o)
    line += `; per-step start overhead ${formatSeconds(o.serialSeconds)} serialized + ${formatSeconds(o.fixedSeconds)} (spread ${formatSeconds(o.spreadSeconds)}), taken out of the durations and simulated`;
  return `${line}\n`;
}

function integerOption(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

function ganttFormat(file: string): "svg" | "html" {
  const ext = extname(file).toLowerCase();
  if (ext === ".svg") return "svg";
  if (ext === ".html" || ext === ".htm") return "html";
  throw new UsageError(`--gantt writes .svg or .html, got "${file}"`);
}
