import { parseArgs } from "node:util";
import type { WorkflowIr } from "@ferry/dsl-compiler";
import { type CliCommand, UsageError } from "../command.ts";
import { compileOrReport } from "../support/report-diagnostics.ts";

export const graphCommand: CliCommand = {
  usage: "Usage: ferry graph <spec.yaml> [--format mermaid|dot]",
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: "string", default: "mermaid" } },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    if (values.format !== "mermaid" && values.format !== "dot")
      throw new UsageError(`--format must be mermaid or dot, got "${values.format}"`);
    const compiled = await compileOrReport(positionals[0]!, io);
    if (!compiled) return 1;
    io.stdout(values.format === "dot" ? toDot(compiled.ir) : toMermaid(compiled.ir));
    return 0;
  },
};

export function toMermaid(ir: WorkflowIr): string {
  const id = (name: string) => `n_${name.replace(/-/g, "_")}`;
  const lines = ["flowchart TD"];
  for (const [site, info] of Object.entries(ir.sites)) {
    const steps = ir.steps.filter((s) => s.site === site);
    if (steps.length === 0) continue;
    lines.push(`  subgraph ${id(`site_${site}`)}["${site} (${info.type})"]`);
    for (const s of steps)
      lines.push(
        `    ${id(s.name)}["${s.name}<br/><small>${s.runtime.kind}${s.foreach ? " ×foreach" : ""}</small>"]`,
      );
    lines.push("  end");
  }
  for (const s of ir.steps) for (const d of s.depends) lines.push(`  ${id(d)} --> ${id(s.name)}`);
  return `${lines.join("\n")}\n`;
}

export function toDot(ir: WorkflowIr): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`digraph ${q(ir.name)} {`, "  rankdir=TB;", "  node [shape=box, style=rounded];"];
  for (const [site, info] of Object.entries(ir.sites)) {
    const steps = ir.steps.filter((s) => s.site === site);
    if (steps.length === 0) continue;
    lines.push(`  subgraph ${q(`cluster_${site}`)} {`, `    label=${q(`${site} (${info.type})`)};`);
    for (const s of steps) lines.push(`    ${q(s.name)} [label=${q(`${s.name}\n${s.runtime.kind}`)}];`);
    lines.push("  }");
  }
  for (const s of ir.steps) for (const d of s.depends) lines.push(`  ${q(d)} -> ${q(s.name)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
