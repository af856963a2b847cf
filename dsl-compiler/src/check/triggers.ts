import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { TRIGGER_KINDS, type TriggerSpec } from "../schema/spec.ts";
import { isEventPath, MAX_INPUT_PATHS, templatePaths } from "../triggers/event-input.ts";
import { parseSchedule, ScheduleError } from "../triggers/schedule.ts";
import { type CheckRule, error } from "./rule.ts";

/** The name a trigger goes by: its own, or `<kind>-<position>`. */
export function triggerName(trigger: TriggerSpec, index: number): string {
  const kind = TRIGGER_KINDS.find((k) => trigger[k] !== undefined) ?? "trigger";
  return trigger.name ?? `${kind}-${index + 1}`;
}

/**
 * Each trigger has exactly one kind, a schedule EventBridge accepts, an
 * event pattern of arrays, an `s3` filter that stays clear of the job files,
 * input paths EventBridge can read, and a name of its own.
 */
export const checkTriggers: CheckRule = (spec) => {
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, number>();
  (spec.triggers ?? []).forEach((trigger, i) => {
    const at = ["triggers", i] as const;
    const kinds = TRIGGER_KINDS.filter((k) => trigger[k] !== undefined);
    if (kinds.length !== 1) {
      diagnostics.push(
        error(
          "INVALID_TRIGGER",
          [...at],
          kinds.length === 0
            ? "says nothing about what starts a run"
            : `has ${kinds.join(" and ")}; a trigger has exactly one`,
          kinds.length === 0
            ? 'give one of schedule: "rate(1 hour)", s3: { prefix: incoming/ } or event: { source: [my.app] }'
            : "split it into one trigger per kind",
        ),
      );
    }
    const name = triggerName(trigger, i);
    const first = seen.get(name);
    if (first !== undefined) {
      diagnostics.push(
        error(
          "DUPLICATE_TRIGGER",
          [...at, ...(trigger.name !== undefined ? ["name"] : [])],
          `trigger name "${name}" is already used by triggers[${first}]`,
          "give each trigger its own name: field",
        ),
      );
    } else seen.set(name, i);
    if (trigger.schedule !== undefined) {
      try {
        parseSchedule(trigger.schedule);
      } catch (e) {
        if (!(e instanceof ScheduleError)) throw e;
        diagnostics.push(
          error(
            "INVALID_SCHEDULE",
            [...at, "schedule"],
            `"${trigger.schedule}" is not an EventBridge schedule expression: ${e.message}`,
            'write e.g. "rate(5 minutes)", "rate(1 day)" or "cron(0 12 * * ? *)" (minutes hours day-of-month month day-of-week year, UTC)',
          ),
        );
      }
    }
    if (trigger.s3 && trigger.s3.bucket === undefined) {
      if (trigger.s3.prefix === undefined) {
        diagnostics.push(
          error(
            "INVALID_TRIGGER",
            [...at, "s3"],
            "watches the workflow's own job-files bucket without a prefix, so every job file a run writes would start another run",
            "give a prefix such as incoming/, or name another bucket",
          ),
        );
      } else if (
        `${spec.name}/`.startsWith(trigger.s3.prefix) ||
        trigger.s3.prefix.startsWith(`${spec.name}/`)
      ) {
        diagnostics.push(
          error(
            "INVALID_TRIGGER",
            [...at, "s3", "prefix"],
            `"${trigger.s3.prefix}" overlaps "${spec.name}/", where the job files of runs are kept, so runs would start runs`,
            "choose a prefix such as incoming/",
          ),
        );
      }
    }
    if (trigger.event) diagnostics.push(...checkPattern(trigger.event, [...at, "event"]));
    const paths = templatePaths(trigger.input);
    for (const p of paths) {
      if (!isEventPath(p.path)) {
        diagnostics.push(
          error(
            "INVALID_TRIGGER",
            [...at, "input", ...p.at],
            `"${p.path}" is not a path into the event`,
            'write "$" for the whole event or a path such as "$.detail.object.key" or "$.resources[0]"',
          ),
        );
      }
    }
    if (new Set(paths.map((p) => p.path)).size > MAX_INPUT_PATHS) {
      diagnostics.push(
        error(
          "INVALID_TRIGGER",
          [...at, "input"],
          `reads more than ${MAX_INPUT_PATHS} paths of the event, EventBridge's limit for an input transformer`,
          'read a whole object (e.g. "$.detail") instead of its fields one by one',
        ),
      );
    }
  });
  return diagnostics;
};

/** An EventBridge pattern: objects whose leaves are arrays of values or matchers. */
function checkPattern(pattern: Record<string, unknown>, at: Array<string | number>): Diagnostic[] {
  if (Object.keys(pattern).length === 0) {
    return [
      error(
        "INVALID_TRIGGER",
        at,
        "is an empty event pattern, which EventBridge refuses",
        "match at least one field, e.g. { source: [my.app] }",
      ),
    ];
  }
  const out: Diagnostic[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    if (Array.isArray(value)) {
      if (value.length === 0) {
        out.push(
          error(
            "INVALID_TRIGGER",
            [...at, key],
            "is an empty list, which matches nothing",
            "list the values to match",
          ),
        );
      }
    } else if (value !== null && typeof value === "object") {
      out.push(...checkPattern(value as Record<string, unknown>, [...at, key]));
    } else {
      out.push(
        error(
          "INVALID_TRIGGER",
          [...at, key],
          "must be a list of values to match (or an object of nested fields)",
          `write ${key}: [${JSON.stringify(value)}]`,
        ),
      );
    }
  }
  return out;
}
