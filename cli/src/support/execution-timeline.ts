import {
  type AwsContext,
  executionStatus,
  getStateIndex,
  readExecutionProvenance,
  rootWorkflowOf,
} from "@ferry/infra/cloud";
import type { ExecutionTimeline } from "@ferry/simulator";

/**
 * Reads a deployed execution for `ferry simulate --calibrate`: its history
 * mapped to steps the way `ferry status` maps it (the state index `ferry
 * deploy` stored), and the agents' provenance records from the job bucket,
 * which carry each attempt's own start and end.
 */
export async function readExecutionTimeline(
  context: AwsContext,
  executionArn: string,
): Promise<ExecutionTimeline> {
  // The stored index is read once: the status maps the history with it, and it names the workflow and sites.
  const stored = await getStateIndex(context, executionArn);
  const status = await executionStatus(context, executionArn, stored?.states);
  const workflow = stored?.workflow ?? rootWorkflowOf(executionArn) ?? "";
  const sites = new Map((stored?.steps ?? []).map((s) => [s.name, s.site]));
  const records = await readExecutionProvenance(context, executionArn, { workflow }).catch(() => []);
  // The successful attempt of each step; the last one when several succeeded (a redrive).
  const agentRun = new Map<string, { startedAt: string; finishedAt: string; attempt: number }>();
  for (const r of records) {
    if (r.outcome !== "succeeded") continue;
    const seen = agentRun.get(r.step);
    if (!seen || r.attempt > seen.attempt) agentRun.set(r.step, r);
  }
  const { description, report } = status;
  return {
    source: executionArn,
    ...(description.startDate ? { startedAt: description.startDate.toISOString() } : {}),
    ...(description.stopDate ? { finishedAt: description.stopDate.toISOString() } : {}),
    // Helper states the report shows (a failed join, a child machine) are not steps.
    steps: report.steps
      .filter((row) => sites.size === 0 || sites.has(row.step))
      .map((row) => {
        const run = agentRun.get(row.step);
        const site = sites.get(row.step);
        return {
          name: row.step,
          ...(site ? { site } : {}),
          status: row.state,
          ...(row.startedAt ? { scheduledAt: row.startedAt.toISOString() } : {}),
          ...(row.endedAt ? { answeredAt: row.endedAt.toISOString() } : {}),
          ...(run ? { agentStartedAt: run.startedAt, agentFinishedAt: run.finishedAt } : {}),
        };
      }),
  };
}
