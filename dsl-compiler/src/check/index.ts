import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import type { WorkflowSpec } from "../schema/spec.ts";
import { checkAwsNameCollisions } from "./aws-name-collisions.ts";
import { checkCache } from "./cache.ts";
import { checkCycles } from "./cycles.ts";
import { checkDependencies } from "./dependencies.ts";
import { checkDuplicateSteps } from "./duplicate-steps.ts";
import { checkEmptyWorkflow } from "./empty-workflow.ts";
import { checkFailureHandling } from "./failure-handling.ts";
import { checkForeach } from "./foreach.ts";
import { checkHeartbeat } from "./heartbeat.ts";
import { checkHostAccess } from "./host-access.ts";
import { checkInputSchema } from "./input-schema.ts";
import { checkJobFiles } from "./job-files.ts";
import { checkPaths } from "./paths.ts";
import { checkPlacement } from "./placement.ts";
import { checkRegions } from "./regions.ts";
import type { CheckRule } from "./rule.ts";
import { checkOneRuntime } from "./runtime.ts";
import { checkSecrets } from "./secrets.ts";
import { checkSites } from "./sites.ts";
import { checkTriggers } from "./triggers.ts";
import { checkVersion } from "./version.ts";

/** Rules in reporting order; `checkCycles` needs known, unique names, so it runs only when they are. */
const RULES: readonly CheckRule[] = [
  checkVersion,
  checkEmptyWorkflow,
  checkDuplicateSteps,
  checkDependencies,
  checkOneRuntime,
  checkSites,
  checkRegions,
  checkAwsNameCollisions,
  checkForeach,
  checkHeartbeat,
  checkCache,
  checkPlacement,
  checkHostAccess,
  checkSecrets,
  checkFailureHandling,
  checkInputSchema,
  checkPaths,
  checkJobFiles,
  checkTriggers,
];

export function checkSpec(spec: WorkflowSpec, extraRules: readonly CheckRule[] = []): Diagnostic[] {
  const diagnostics = [...RULES, ...extraRules].flatMap((rule) => rule(spec));
  const graphIsWellFormed = !diagnostics.some(
    (d) => d.code === "DUPLICATE_STEP" || d.code === "UNKNOWN_DEPENDENCY",
  );
  return graphIsWellFormed ? [...diagnostics, ...checkCycles(spec)] : diagnostics;
}
