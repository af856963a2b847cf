import { resolve } from "node:path";
import { splitLimitProblem } from "@ferry/dsl-compiler";
import { InfraError } from "./errors.ts";
import type { FerryTarget } from "./ferry-workflow.ts";

/** What the CDK app behind `cdk.json` reads from `-c key=value`. */
export interface AppOptions {
  /** Absolute paths of the specs; one stack each. */
  specs: string[];
  projectRoot: string;
  target: FerryTarget;
  nag: boolean;
  /** Lowers the history events per state machine before the workflow is split (`ferry deploy --split-limit`). */
  splitLimit?: number;
}

const USAGE =
  "usage: npx cdk synth -c spec=examples/hello/workflow.yaml [-c target=aws|localstack] [-c nag=false] [-c projectRoot=.] [-c splitLimit=N]";

/**
 * Reads the app's context: `spec` (one path, or several separated by commas),
 * `target` (@default "aws"), `nag` (@default true), `projectRoot` (@default the
 * current directory, where `cdk.json` is), `splitLimit` (@default none: the
 * compiler's). Relative paths are resolved from `cwd`.
 */
export function resolveAppOptions(context: (key: string) => unknown, cwd: string): AppOptions {
  const spec = context("spec");
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new InfraError(
      "INVALID_PROP",
      "context.spec",
      `no workflow spec given, got ${JSON.stringify(spec)}; ${USAGE}`,
    );
  }
  const target = context("target") ?? "aws";
  if (target !== "aws" && target !== "localstack") {
    throw new InfraError(
      "INVALID_PROP",
      "context.target",
      `must be "aws" or "localstack", got ${JSON.stringify(target)}; ${USAGE}`,
    );
  }
  const nag = context("nag") ?? true;
  if (nag !== true && nag !== false && nag !== "true" && nag !== "false") {
    throw new InfraError(
      "INVALID_PROP",
      "context.nag",
      `must be true or false, got ${JSON.stringify(nag)}; ${USAGE}`,
    );
  }
  const root = context("projectRoot");
  const rawLimit = context("splitLimit");
  const splitLimit =
    rawLimit === undefined
      ? undefined
      : typeof rawLimit === "number"
        ? rawLimit
        : Number(String(rawLimit).trim() || "x");
  const limitProblem = splitLimit === undefined ? undefined : splitLimitProblem(splitLimit);
  if (limitProblem) {
    throw new InfraError(
      "INVALID_PROP",
      "context.splitLimit",
      `${Number.isNaN(splitLimit) ? `must be a whole number of history events, got ${JSON.stringify(rawLimit)}` : limitProblem}; ${USAGE}`,
    );
  }
  return {
    specs: spec
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => resolve(cwd, s)),
    projectRoot: typeof root === "string" && root !== "" ? resolve(cwd, root) : cwd,
    target,
    nag: nag === true || nag === "true",
    ...(splitLimit === undefined ? {} : { splitLimit }),
  };
}
