import { parseArgs } from "node:util";
import { compileSpecFile, formatDiagnostic } from "@ferry/dsl-compiler";
import { type CliCommand, UsageError } from "../command.ts";

export const validateCommand: CliCommand = {
  usage: `Usage: ferry validate <spec.yaml>... [--json]

Exits 0 when every spec is valid, 1 when any has errors, 2 on usage errors.
Diagnostics read  file:line:col: error[CODE] spec.path: message  plus a hint.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" } },
    });
    if (positionals.length === 0) throw new UsageError("name at least one spec file");
    let failed = false;
    const report = [];
    for (const file of positionals) {
      const { diagnostics, compiled } = await compileSpecFile(file);
      failed ||= !compiled;
      report.push({ file, valid: Boolean(compiled), diagnostics });
      if (values.json) continue;
      for (const d of diagnostics) io.stderr(`${formatDiagnostic(file, d)}\n`);
      if (compiled)
        io.stdout(
          `${file}: ok — workflow "${compiled.ir.name}", ${plural(compiled.ir.steps.length, "step")} on ${plural(Object.keys(compiled.ir.sites).length, "site")}\n`,
        );
      else io.stderr(`${file}: ${plural(diagnostics.length, "error")}\n`);
    }
    if (values.json) io.stdout(`${JSON.stringify(report)}\n`);
    return failed ? 1 : 0;
  },
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
