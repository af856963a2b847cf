#!/usr/bin/env -S npx tsx
// The CDK app behind cdk.json: `npx cdk synth -c spec=examples/hello/workflow.yaml`.
// Compiles each spec, prints its diagnostics, and synthesizes one stack per workflow.
import { relative } from "node:path";
import { compileSpecFile, formatDiagnostic, hasErrors } from "@ferry/dsl-compiler";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { defaultEnvironment, FerryWorkflowStack, InfraError, resolveAppOptions } from "../src/index.ts";
import { adaptAssemblyForCli } from "../src/private/cli-compat.ts";

async function main(): Promise<number> {
  const app = new App();
  const cwd = process.cwd();
  const options = resolveAppOptions((key) => app.node.tryGetContext(key), cwd);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  for (const spec of options.specs) {
    const shown = relative(cwd, spec) || spec;
    const { diagnostics, compiled } = await compileSpecFile(
      spec,
      options.splitLimit === undefined ? {} : { splitLimit: options.splitLimit },
    );
    for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(shown, d)}\n`);
    if (!compiled || hasErrors(diagnostics)) {
      process.stderr.write(`${shown}: not synthesized; fix the errors above\n`);
      return 1;
    }
    new FerryWorkflowStack(app, undefined, {
      compiled,
      projectRoot: options.projectRoot,
      target: options.target,
      env: defaultEnvironment(compiled.ir),
    });
  }
  const assembly = app.synth();
  const compat = adaptAssemblyForCli(assembly.directory, process.env.CDK_CLI_ASM_VERSION);
  if (compat.rewritten) {
    process.stderr.write(
      `note: this cdk CLI reads cloud assembly schema ${compat.to}; aws-cdk-lib wrote ${compat.from}. The manifest was relabelled for it` +
        `${compat.droppedArtifacts.length ? ` (dropped: ${compat.droppedArtifacts.join(", ")})` : ""}; upgrade the aws-cdk CLI to stop this.\n`,
    );
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  // Usage and construct errors carry their own place and fix; anything else keeps its stack trace.
  process.stderr.write(
    `${error instanceof InfraError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
}
