import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DeployError } from "./deploy-error.ts";
import type { CfnTemplate } from "./localstack-template.ts";

/** A function step's Lambda function as the `aws`-target cloud assembly deploys it. */
export interface AssemblyFunction {
  logicalId: string;
  workflow: string;
  step: string;
  /** The asset folder CDK uploads as the function's code (`asset.<hash>`). */
  assetDir: string;
  /** The module Lambda loads (`<assetDir>/index.mjs` for `index.handler`). */
  moduleFile: string;
  exportName: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMiB: number;
  /** `Environment.Variables`; intrinsic values (e.g. the job bucket's `Ref`) are left as the template has them. */
  environment: Record<string, unknown>;
  /** The event source mapping's `BatchSize`. */
  batchSize: number;
  /** Its `MaximumBatchingWindowInSeconds`. */
  batchWindowSeconds: number;
  /** Its `FunctionResponseTypes` include `ReportBatchItemFailures`. */
  reportBatchItemFailures: boolean;
}

export interface AssemblyFunctions {
  assemblyDir: string;
  stackName: string;
  templatePath: string;
  functions: AssemblyFunction[];
}

interface AssemblyManifest {
  artifacts?: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
}
interface AssetManifest {
  files?: Record<
    string,
    { source: { path?: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
  >;
}

/**
 * Reads the Lambda functions of function steps from a cloud assembly
 * (`cdk.out`, or a `ferry compile --out` folder holding one): each
 * function's code folder, resolved from its template `Code.S3Key` through
 * the stack's asset manifest, its handler, timeout, memory and environment,
 * and its SQS event source mapping. `ferry functions serve` runs exactly
 * these folders.
 */
export function readAssemblyFunctions(dir: string, stackName?: string): AssemblyFunctions {
  const assemblyDir = findAssembly(dir);
  const manifest = readJson<AssemblyManifest>(join(assemblyDir, "manifest.json"));
  const artifacts = Object.entries(manifest.artifacts ?? {});
  const stacks = artifacts.filter(
    ([id, a]) => a.type === "aws:cloudformation:stack" && (!stackName || id === stackName),
  );
  if (stacks.length !== 1) {
    throw new DeployError(
      "STACK_NOT_FOUND",
      `${assemblyDir}: ${stacks.length === 0 ? "no stack" : `${stacks.length} stacks (${stacks.map(([id]) => id).join(", ")})`}${stackName ? ` named ${stackName}` : ""} in the cloud assembly; synthesize the workflow with \`ferry compile <spec> --out <dir>\` and pass that folder`,
    );
  }
  const [id, stack] = stacks[0]!;
  const templatePath = join(assemblyDir, stack.properties?.templateFile ?? `${id}.template.json`);
  const template = readJson<CfnTemplate>(templatePath);
  const assetsEntry = artifacts.find(
    ([, a]) => a.type === "cdk:asset-manifest" && a.properties?.file === `${id}.assets.json`,
  );
  const assets = readJson<AssetManifest>(
    join(assemblyDir, assetsEntry?.[1].properties?.file ?? `${id}.assets.json`),
  );
  const byObjectKey = new Map<string, string>();
  for (const file of Object.values(assets.files ?? {})) {
    if (!file.source.path) continue;
    for (const destination of Object.values(file.destinations))
      byObjectKey.set(destination.objectKey, file.source.path);
  }
  const mappings = Object.values(template.Resources).filter(
    (r) => r.Type === "AWS::Lambda::EventSourceMapping",
  );
  const functions: AssemblyFunction[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const props = resource.Properties ?? {};
    const variables =
      (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const workflow = variables.FERRY_WORKFLOW;
    const step = variables.FERRY_STEP;
    // Functions that are not steps (custom resources) have no Ferry environment.
    if (typeof workflow !== "string" || typeof step !== "string") continue;
    const where = `${templatePath}: ${logicalId} (step ${step})`;
    const key = (props.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const path = typeof key === "string" ? byObjectKey.get(key) : undefined;
    if (!path) {
      throw new DeployError(
        "OUTPUT_MISSING",
        `${where}: Code.S3Key ${JSON.stringify(key)} names no asset of ${id}.assets.json; synthesize the assembly again`,
      );
    }
    const assetDir = resolve(assemblyDir, path);
    const handler = String(props.Handler ?? "");
    const dot = handler.lastIndexOf(".");
    const moduleName = handler.slice(0, dot);
    const moduleFile = [".mjs", ".js", ".cjs"]
      .map((ext) => join(assetDir, `${moduleName}${ext}`))
      .find(existsSync);
    if (dot <= 0 || !moduleFile) {
      throw new DeployError(
        "OUTPUT_MISSING",
        `${where}: Handler ${JSON.stringify(handler)} names no module in ${assetDir}; synthesize the assembly again`,
      );
    }
    const mapping = mappings.find((m) => refersTo(m.Properties?.FunctionName, logicalId));
    const mapped = mapping?.Properties ?? {};
    functions.push({
      logicalId,
      workflow,
      step,
      assetDir,
      moduleFile,
      exportName: handler.slice(dot + 1),
      runtime: String(props.Runtime ?? ""),
      // Lambda's own defaults when the template leaves them out.
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMiB: Number(props.MemorySize ?? 128),
      environment: variables,
      batchSize: Number(mapped.BatchSize ?? 10),
      batchWindowSeconds: Number(mapped.MaximumBatchingWindowInSeconds ?? 0),
      reportBatchItemFailures: ((mapped.FunctionResponseTypes as unknown[] | undefined) ?? []).includes(
        "ReportBatchItemFailures",
      ),
    });
  }
  return { assemblyDir, stackName: id, templatePath, functions };
}

/** `dir` itself when it holds a cloud assembly, else its `cdk.out` (a `ferry compile --out` folder). */
function findAssembly(dir: string): string {
  for (const candidate of [dir, join(dir, "cdk.out")]) {
    if (
      existsSync(join(candidate, "manifest.json")) &&
      readJson<AssemblyManifest>(join(candidate, "manifest.json")).artifacts
    )
      return resolve(candidate);
  }
  throw new DeployError(
    "OUTPUT_MISSING",
    `${dir}: no cloud assembly here (no manifest.json with artifacts, nor cdk.out/); make one with \`ferry compile <spec> --out ${dir}\` or \`cdk synth -o ${dir}\``,
  );
}

function refersTo(value: unknown, logicalId: string): boolean {
  if (value === null || typeof value !== "object") return false;
  const ref = (value as { Ref?: unknown }).Ref;
  const att = (value as { "Fn::GetAtt"?: unknown })["Fn::GetAtt"];
  return ref === logicalId || (Array.isArray(att) && att[0] === logicalId);
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new DeployError("OUTPUT_MISSING", `could not read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
