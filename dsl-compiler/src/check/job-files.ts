import { jobFileProducers } from "../ir/job-file-producers.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/**
 * Every declared input is written by exactly one step this one depends on
 * (directly or not): job files live under the writing site's keys, so the
 * reader must know which step, and so which site, wrote it.
 */
export const checkJobFiles: CheckRule = (spec) => {
  const producers = jobFileProducers(spec.steps, [...(spec.handlers ?? []), ...(spec.finally ?? [])]);
  return everyStep(spec).flatMap(({ step, path }) =>
    (step.inputs ?? []).flatMap((input, j) => {
      const from = producers.get(step.name)?.get(input) ?? [];
      if (from.length === 1) return [];
      const where = [...path, "inputs", j];
      return from.length === 0
        ? [
            error(
              "UNKNOWN_JOB_FILE",
              where,
              `no step that "${step.name}" depends on declares "${input}" in its outputs`,
              `add the step that writes "${input}" to depends (and "${input}" to its outputs)`,
            ),
          ]
        : [
            error(
              "AMBIGUOUS_JOB_FILE",
              where,
              `"${input}" is an output of ${from.map((f) => `"${f}"`).join(" and ")}, both upstream of "${step.name}"`,
              "give the job files different names, so the reader gets the one it means",
            ),
          ];
    }),
  );
};
