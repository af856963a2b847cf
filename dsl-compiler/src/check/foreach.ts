import { foreachReads, upstreamWriters } from "../ir/job-file-producers.ts";
import type { RecordFormat, StepSpec } from "../schema/spec.ts";
import { type CheckRule, error } from "./rule.ts";

/** `.json` → json, `.csv` → csv, `.jsonl`/`.ndjson` → jsonl; undefined for any other name. */
export function recordFormatOf(file: string): RecordFormat | undefined {
  const ext = /\.([A-Za-z]+)$/.exec(file)?.[1]?.toLowerCase();
  if (ext === "json") return "json";
  if (ext === "csv") return "csv";
  if (ext === "jsonl" || ext === "ndjson") return "jsonl";
  return undefined;
}

/**
 * A `foreach` names exactly one source. `items` that read a dependency's
 * output name a declared dependency; `files` and `records` name job files
 * that upstream steps of one site write (job files live under the writing
 * site's keys), as a relative name the ASL can carry in a key template.
 */
export const checkForeach: CheckRule = (spec) =>
  spec.steps.flatMap((step, i) => {
    const foreach = step.foreach;
    if (!foreach) return [];
    const at = ["steps", i, "foreach"] as const;
    const sources = (["items", "files", "records"] as const).filter((k) => foreach[k] !== undefined);
    if (sources.length !== 1) {
      return [
        error(
          "INVALID_FOREACH",
          [...at],
          sources.length === 0
            ? "names no items to fan out over"
            : `names ${sources.join(" and ")}; a foreach reads exactly one of them`,
          "keep one of items (a list in the input), files (a job-file prefix) or records (a JSON, CSV or JSON-lines job file)",
        ),
      ];
    }
    if (foreach.items !== undefined) return inlineRules(step, i);
    return distributedRules(spec.steps, step, i);
  });

function inlineRules(step: StepSpec, i: number) {
  const foreach = step.foreach!;
  const at = ["steps", i, "foreach"] as const;
  const out = [];
  for (const field of ["format", "toleratedFailurePercentage", "batch"] as const) {
    if (foreach[field] !== undefined)
      out.push(
        error(
          "INVALID_FOREACH",
          [...at, field],
          `applies to foreach over files or records (a Distributed Map), not over items`,
          `remove ${field}, or fan out over a job file with records: or files:`,
        ),
      );
  }
  const items = foreach.items!;
  const dep = items.startsWith("deps.") ? items.split(".")[1]! : undefined;
  if (dep !== undefined && !step.depends.includes(dep))
    out.push(
      error(
        "INVALID_FOREACH",
        [...at, "items"],
        `"${items}" reads the output of "${dep}", which is not in depends`,
        `add "${dep}" to depends, or read from "input."`,
      ),
    );
  return out;
}

function distributedRules(steps: readonly StepSpec[], step: StepSpec, i: number) {
  const foreach = step.foreach!;
  const field = foreach.files !== undefined ? "files" : "records";
  const name = (foreach.files ?? foreach.records)!;
  const at = ["steps", i, "foreach", field] as const;
  if (name.startsWith("/") || name.split("/").includes("..") || /[{}'\\]/.test(name)) {
    return [
      error(
        "INVALID_FOREACH",
        [...at],
        `"${name}" must be a relative job-file name without "..", braces, quotes or backslashes`,
        'name it as the writing step lists it in outputs, e.g. "parts/" or "items.json"',
      ),
    ];
  }
  const out = [];
  if (field === "files" && foreach.format !== undefined)
    out.push(
      error(
        "INVALID_FOREACH",
        ["steps", i, "foreach", "format"],
        "applies to records, not to files",
        "remove format: each file is one item, its content is not read",
      ),
    );
  if (field === "records" && foreach.format === undefined && recordFormatOf(name) === undefined)
    out.push(
      error(
        "INVALID_FOREACH",
        ["steps", i, "foreach", "format"],
        `cannot tell the format of "${name}" from its extension`,
        "add format: json, csv or jsonl",
      ),
    );
  if (foreach.batch && foreach.batch.maxItems === undefined && foreach.batch.maxBytes === undefined)
    out.push(
      error(
        "INVALID_FOREACH",
        ["steps", i, "foreach", "batch"],
        "names no batch size",
        "add maxItems (items per batch), maxBytes (bytes of JSON per batch) or both",
      ),
    );
  const writers = upstreamWriters(steps, step.name, foreachReads(foreach));
  const sites = [...new Set(writers.map((w) => steps.find((s) => s.name === w)!.site))];
  if (writers.length === 0)
    out.push(
      error(
        "UNKNOWN_JOB_FILE",
        [...at],
        field === "files"
          ? `no step that "${step.name}" depends on declares an output under "${name}"`
          : `no step that "${step.name}" depends on declares "${name}" in its outputs`,
        `add the step that writes it to depends (and the file to its outputs)`,
      ),
    );
  else if (field === "records" && writers.length > 1)
    out.push(
      error(
        "AMBIGUOUS_JOB_FILE",
        [...at],
        `"${name}" is an output of ${writers.map((w) => `"${w}"`).join(" and ")}, both upstream of "${step.name}"`,
        "give the job files different names, so the reader gets the one it means",
      ),
    );
  else if (sites.length > 1)
    out.push(
      error(
        "AMBIGUOUS_JOB_FILE",
        [...at],
        `files under "${name}" are written on sites ${sites.map((s) => `"${s}"`).join(" and ")}; one listing reads one site's keys`,
        "write them on one site, or use a prefix per site",
      ),
    );
  return out;
}
