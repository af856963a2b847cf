// Prints how long synthesis takes for the examples and for a generated
// 1,000-step workflow: compile, build the construct tree, cdk-nag, and
// `app.synth()` with and without CDK's built-in CloudFormation validation
// (median of three runs after a warm-up).
// Run: npx tsx bench/synth.ts
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type CompiledWorkflow, compileSpec } from "@ferry/dsl-compiler";
import { FerryWorkflowStack } from "@ferry/infra";
import { App } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";

const root = fileURLToPath(new URL("../", import.meta.url));

/** A deterministic layered DAG: mostly edge processes on three sites, plus cloud functions, containers and HTTP calls. */
function generatedSpec(steps: number, seed = 7): string {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const lines = [
    "name: bench-1000",
    "sites:",
    "  cloud: { type: aws, region: eu-west-1 }",
    "  lab-a: { type: edge }",
    "  lab-b: { type: edge }",
    "  lab-c: { type: edge }",
    "steps:",
  ];
  for (let i = 0; i < steps; i++) {
    const deps = new Set<number>();
    if (i > 0)
      for (let k = Math.floor(random() * 3); k >= 0; k--)
        deps.add(Math.max(0, i - 1 - Math.floor(random() * Math.min(i, 12))));
    const depends = i === 0 ? "" : `, depends: [${[...deps].map((d) => `s${d}`).join(", ")}]`;
    let body: string;
    if (i % 200 === 199) body = `site: cloud, function: { handler: "functions/examples/load.ts#handler" }`;
    else if (i % 250 === 124)
      body = `site: cloud, http: { method: POST, url: "https://hooks.example.com/ferry/${i}" }`;
    else if (i % 100 === 50) body = `site: cloud, container: { image: "busybox:1", command: ["true"] }`;
    else body = `site: lab-${"abc"[i % 3]}, process: { command: ["true"] }`;
    lines.push(`  - { name: s${i}${depends}, ${body} }`);
  }
  return `${lines.join("\n")}\n`;
}

const RUNS = 3;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function time<T>(run: () => T): [T, number] {
  const start = performance.now();
  const value = run();
  return [value, performance.now() - start];
}

function measure(label: string, text: string): string {
  const compileTimes: number[] = [];
  let result = compileSpec(text);
  for (let i = 0; i < RUNS; i++) {
    const [r, ms] = time(() => compileSpec(text));
    result = r;
    compileTimes.push(ms);
  }
  const compileMs = median(compileTimes);
  if (!result.compiled) throw new Error(`${label}: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
  const compiled: CompiledWorkflow = result.compiled;
  const row = (validation: boolean) => {
    const outdir = mkdtempSync(join(tmpdir(), "ferry-bench-"));
    try {
      const app = new App({ outdir, builtinCloudFormationValidation: validation });
      const [stack, constructMs] = time(
        () =>
          new FerryWorkflowStack(app, undefined, {
            compiled,
            projectRoot: root,
            env: { account: "123456789012", region: "eu-west-1" },
          }),
      );
      const [report, nagMs] = time(() => new AwsSolutionsChecks().validateScope(stack));
      const [, synthMs] = time(() => app.synth());
      const template = statSync(join(outdir, stack.templateFile)).size;
      const resources = Object.keys(
        JSON.parse(readFileSync(join(outdir, stack.templateFile), "utf8")).Resources,
      ).length;
      const machines = Object.values(
        JSON.parse(readFileSync(join(outdir, stack.templateFile), "utf8")).Resources as Record<
          string,
          { Type: string; Properties: Record<string, unknown> }
        >,
      ).filter((r) => r.Type === "AWS::StepFunctions::StateMachine");
      const fromS3 = machines.some((m) => m.Properties.DefinitionS3Location !== undefined);
      return {
        constructMs,
        nagMs,
        synthMs,
        findings: report.violations.length,
        template,
        resources,
        machines: machines.length,
        fromS3,
      };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };
  const pick = (validation: boolean) => {
    const runs = Array.from({ length: RUNS }, () => row(validation));
    const mid = (key: "constructMs" | "nagMs" | "synthMs") => median(runs.map((r) => r[key]));
    return { ...runs[0]!, constructMs: mid("constructMs"), nagMs: mid("nagMs"), synthMs: mid("synthMs") };
  };
  const fast = pick(false);
  const validated = pick(true);
  const ms = (v: number) => `${v.toFixed(0).padStart(6)} ms`;
  return [
    label.padEnd(24),
    String(compiled.ir.steps.length).padStart(6),
    ms(compileMs),
    ms(fast.constructMs),
    ms(fast.nagMs),
    ms(fast.synthMs),
    ms(validated.synthMs),
    String(fast.resources).padStart(9),
    `${(fast.template / 1024).toFixed(0).padStart(6)} KiB`,
    String(fast.findings).padStart(8),
    `${fast.machines}${fast.fromS3 ? " (S3)" : ""}`.padStart(8),
  ].join("  ");
}

const header = [
  "workflow".padEnd(24),
  " steps",
  "   compile",
  " construct",
  "   cdk-nag",
  "     synth",
  "synth+cfn-validate",
  "resources",
  "  template",
  "findings",
  "machines",
];
// Warm-up: the first synthesis pays for loading CDK's validation engine and esbuild.
measure("warm-up", readFileSync(join(root, "examples/hello/workflow.yaml"), "utf8"));
console.log(`median of ${RUNS} runs each`);
console.log(header.join("  "));
for (const name of readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)) {
  console.log(
    measure(`examples/${name}`, readFileSync(join(root, "examples", name, "workflow.yaml"), "utf8")),
  );
}
console.log(measure("generated 1,000 steps", generatedSpec(1000)));
