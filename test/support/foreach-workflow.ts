/**
 * The workflow the large-fan-out tests run on every runtime (`ferry run`
 * and LocalStack): `make` writes `items.json` (`input.count` records
 * `{ n }`) and three files under `parts/`; `square` fans out over the
 * records (a Distributed Map tolerating 10% failed items unless told
 * otherwise: an item fails
 * when `input.failEvery` divides its n), `sizes` over the files; `total`
 * reads both steps' result files and sums them up.
 */

const MAKE = `
const fs = require("node:fs");
const { input } = JSON.parse(fs.readFileSync(0, "utf8"));
const dir = process.env.FERRY_JOB_DIR;
fs.writeFileSync(dir + "/items.json", JSON.stringify(Array.from({ length: input.count }, (_, n) => ({ n }))));
fs.mkdirSync(dir + "/parts", { recursive: true });
for (const k of [0, 1, 2]) fs.writeFileSync(dir + "/parts/p-" + k + ".txt", "x".repeat(k + 1));
console.log(JSON.stringify({ count: input.count }));
`;

const SQUARE = `
const fs = require("node:fs");
const { input, item } = JSON.parse(fs.readFileSync(0, "utf8"));
if (input.failEvery && item.n % input.failEvery === 0) { console.error("item " + item.n + " refused on purpose"); process.exit(3); }
const output = JSON.stringify({ n: item.n, square: item.n * item.n });
if (input.outputsFile) fs.appendFileSync(input.outputsFile, output + "\\n");
console.log(output);
`;

const SIZE = `
const fs = require("node:fs");
const { item } = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify({ name: item.Key.split("/").pop(), size: item.Size }));
`;

/** Reads the staged result files (paths relative to the job folder) and sums them. */
const TOTAL = `
const fs = require("node:fs");
const { deps } = JSON.parse(fs.readFileSync(0, "utf8"));
const dir = process.env.FERRY_JOB_DIR;
const entries = (paths) => paths.flatMap((p) => JSON.parse(fs.readFileSync(dir + "/" + p, "utf8")));
const ok = entries(deps.square.succeeded).map((e) => JSON.parse(e.Output));
const failed = entries(deps.square.failed).map((e) => ({ index: JSON.parse(e.Input).index, error: e.Error }));
const sizes = entries(deps.sizes.succeeded).map((e) => JSON.parse(e.Output));
console.log(JSON.stringify({
  succeeded: ok.length,
  sumOfSquares: ok.reduce((s, o) => s + o.square, 0),
  failedIndexes: failed.map((f) => f.index).sort((a, b) => a - b),
  failedErrors: [...new Set(failed.map((f) => f.error))],
  sizes: sizes.sort((a, b) => a.name.localeCompare(b.name)),
}));
`;

export interface ForeachInput {
  count: number;
  failEvery?: number;
  /** Each `square` item also appends its output here (one JSON line): how a test sees outputs LocalStack keeps nowhere readable. */
  outputsFile?: string;
}

/** The tolerated share of failed `square` items. */
export const TOLERATED_PERCENT = 10;

export function foreachWorkflowSpec(
  name: string,
  options: { maxConcurrency?: number; toleratedFailurePercentage?: number } = {},
): string {
  const node = (script: string) => ({ command: ["node", "-e", script] });
  return JSON.stringify({
    version: "1.1",
    name,
    description: "A Distributed Map over the records of a job file and over a job-file listing.",
    sites: { lab: { type: "edge" } },
    defaults: { timeoutSeconds: 600, heartbeatSeconds: 60 },
    steps: [
      {
        name: "make",
        site: "lab",
        process: node(MAKE),
        outputs: ["items.json", "parts/p-0.txt", "parts/p-1.txt", "parts/p-2.txt"],
      },
      {
        name: "square",
        depends: ["make"],
        site: "lab",
        foreach: {
          records: "items.json",
          toleratedFailurePercentage: options.toleratedFailurePercentage ?? TOLERATED_PERCENT,
          maxConcurrency: options.maxConcurrency ?? 0,
        },
        process: node(SQUARE),
      },
      { name: "sizes", depends: ["make"], site: "lab", foreach: { files: "parts/" }, process: node(SIZE) },
      // continue: on LocalStack 4.14, whose ResultWriter writes no result files, the run still ends and shows why.
      {
        name: "total",
        depends: ["square", "sizes"],
        site: "lab",
        onFailure: "continue",
        process: node(TOTAL),
      },
    ],
  });
}

/** What `total` reports for `input` when the run succeeds. */
export function expectedTotal(input: ForeachInput): Record<string, unknown> {
  const all = Array.from({ length: input.count }, (_, n) => n);
  const failed = all.filter((n) => input.failEvery && n % input.failEvery === 0);
  const ok = all.filter((n) => !failed.includes(n));
  return {
    succeeded: ok.length,
    sumOfSquares: ok.reduce((s, n) => s + n * n, 0),
    failedIndexes: failed,
    failedErrors: failed.length ? ["Ferry.ExitCode"] : [],
    sizes: [0, 1, 2].map((k) => ({ name: `p-${k}.txt`, size: k + 1 })),
  };
}
