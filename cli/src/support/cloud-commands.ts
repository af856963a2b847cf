import { existsSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import {
  type CompiledWorkflow,
  type CompileOptions,
  compileSpecFile,
  findProjectRoot,
  formatDiagnostic,
  hasErrors,
  type WorkflowIr,
} from "@ferry/dsl-compiler";
import { type AwsContext, DeployError, defaultEnvironment, resolveAwsContext } from "@ferry/infra/cloud";
import type { CliIo } from "../command.ts";

// Light on purpose, so commands that talk to AWS only sometimes (ferry logs) parse the flags without loading infra.
export { AWS_FLAGS, AWS_FLAGS_USAGE } from "./aws-flags.ts";

export interface LoadedWorkflow {
  compiled: CompiledWorkflow;
  specFile: string;
  /** Directory function handler paths are relative to. */
  projectRoot: string;
}

/** Compiles a spec for a command; prints its diagnostics and returns undefined when it has errors. */
export async function loadWorkflow(
  spec: string,
  io: CliIo,
  options: Pick<CompileOptions, "splitLimit"> = {},
): Promise<LoadedWorkflow | undefined> {
  const specFile = resolve(io.cwd, spec);
  const shown = relative(io.cwd, specFile) || specFile;
  const result = await compileSpecFile(specFile, options);
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(shown, d)}\n`);
  if (!result.compiled || hasErrors(result.diagnostics)) {
    io.stderr(`${shown}: not compiled; fix the errors above (ferry validate ${shown})\n`);
    return undefined;
  }
  return { compiled: result.compiled, specFile, projectRoot: findProjectRoot(dirname(specFile)) };
}

/** True when the argument names an existing spec file rather than a deployed workflow. */
export function isSpecFile(arg: string, cwd: string): boolean {
  const path = resolve(cwd, arg);
  return existsSync(path) && statSync(path).isFile();
}

/** The AWS context of a command: flags, then the workflow's region, then the environment. */
export function awsContextFor(
  values: { "endpoint-url"?: string; region?: string },
  env: NodeJS.ProcessEnv,
  ir?: WorkflowIr,
): AwsContext {
  const workflowRegion = ir ? defaultEnvironment(ir, {}).region : undefined;
  return resolveAwsContext(
    {
      ...(values["endpoint-url"] ? { endpointUrl: values["endpoint-url"] } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(workflowRegion ? { workflowRegion } : {}),
    },
    env,
  );
}

/**
 * A command's `<spec.yaml|workflow>` argument: a spec file is compiled (its
 * name, region and input schema win); anything else names a deployed workflow. Undefined
 * when the spec has errors (already printed).
 */
export async function workflowTarget(
  arg: string,
  values: { "endpoint-url"?: string; region?: string },
  io: CliIo,
): Promise<{ workflow: string; context: AwsContext; ir?: WorkflowIr } | undefined> {
  if (!isSpecFile(arg, io.cwd)) return { workflow: arg, context: awsContextFor(values, io.env) };
  const loaded = await loadWorkflow(arg, io);
  if (!loaded) return undefined;
  const { ir } = loaded.compiled;
  return { workflow: ir.name, context: awsContextFor(values, io.env, ir), ir };
}

/** Prints a deployment error with its details and returns exit code 1; rethrows anything else. */
export function reportDeployError(command: string, error: unknown, io: CliIo): number {
  if (!(error instanceof DeployError)) throw error;
  io.stderr(`ferry ${command}: ${error.message}\n`);
  for (const line of error.details) io.stderr(`  ${line}\n`);
  return 1;
}

/** Left-aligned text table; the last column is not padded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
