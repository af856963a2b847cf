import { basename } from "node:path";
import { parseArgs } from "node:util";
import { SITE_NAME_PATTERN } from "@ferry/dsl-compiler";
import { DEFAULT_IMPORT_SITE, formatSimDiagnostic, importWfCommons, parseWfInstance } from "@ferry/simulator";
import { type CliCommand, UsageError } from "../command.ts";
import { readText, writeText } from "../support/read-input.ts";

const USAGE = `Usage: ferry import wfcommons <instance.json> [--scale F] [--out spec.yaml] [--site name]

Turns a WfCommons instance (WfFormat 1.5: tasks, parents, runtimes, file
sizes) into a Ferry spec: one process step per task with depends from the
task's parents and hints durationSeconds, outputBytes and cpu.

Options:
  --scale <F>     steps sleep runtime × F seconds, so the workflow can run for real
                  (ferry run); without it they run "true" and only the hints matter
  --out <file>    write the spec there instead of to stdout
  --site <name>   the site every step is placed on (default ${DEFAULT_IMPORT_SITE})`;

export const importCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { scale: { type: "string" }, out: { type: "string" }, site: { type: "string" } },
    });
    const [format, file, ...extra] = positionals;
    if (format !== "wfcommons")
      throw new UsageError(
        format === undefined
          ? "name the format: wfcommons"
          : `unknown format "${format}"; supported: wfcommons`,
      );
    if (file === undefined || extra.length > 0) throw new UsageError("name exactly one instance file");
    let scale: number | undefined;
    if (values.scale !== undefined) {
      scale = Number(values.scale);
      if (!Number.isFinite(scale) || scale <= 0)
        throw new UsageError(`--scale must be a positive number, got "${values.scale}"`);
    }
    const site = values.site ?? DEFAULT_IMPORT_SITE;
    if (!SITE_NAME_PATTERN.test(site))
      throw new UsageError(`--site must match ${SITE_NAME_PATTERN.source}, got "${site}"`);

    const { instance, diagnostics } = parseWfInstance(await readText(io.cwd, file, "instance"));
    for (const d of diagnostics) io.stderr(`${formatSimDiagnostic(file, d)}\n`);
    if (!instance) return 1;
    const result = importWfCommons(instance, {
      site,
      sourceName: basename(file),
      ...(scale !== undefined ? { scale } : {}),
    });
    for (const d of result.diagnostics)
      io.stderr(`${formatSimDiagnostic(d.source === "spec" ? (values.out ?? "<stdout>") : file, d)}\n`);
    if (result.yaml === undefined) return 1;
    const steps = instance.workflow.specification.tasks.length;
    if (values.out === undefined) io.stdout(result.yaml);
    else {
      await writeText(io.cwd, values.out, result.yaml);
      io.stderr(
        `${values.out}: ${steps} steps on site "${site}"${scale !== undefined ? `, sleeping runtime × ${scale}` : ""}\n`,
      );
    }
    return 0;
  },
};
