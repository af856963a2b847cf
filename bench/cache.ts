// Step cache figures on `ferry run`: a WfCommons instance, sleep-scaled, run
// twice (the second fully cached, against the first as baseline); then one
// leaf's input changes and only its downstream cone may run again; then the
// cost of a cache lookup per step.
// Run: npx tsx bench/cache.ts [--instance montage-chameleon-2mass-01d-001] [--critical-path-seconds 30] [--slots 16]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CompiledWorkflow, compileSpec, criticalPath } from "@ferry/dsl-compiler";
import { stepCacheKey } from "@ferry/dsl-compiler/contract";
import { LocalStepCache } from "@ferry/edge-agent";
import { cacheRoot, runWorkflow } from "@ferry/edge-agent/local-run";
import { importWfCommons, parseWfInstance } from "@ferry/simulator";
import { WFCOMMONS_DIR } from "../test/support/wfcommons.ts";

const { values } = parseArgs({
  options: {
    instance: { type: "string", default: "montage-chameleon-2mass-01d-001" },
    "critical-path-seconds": { type: "string", default: "30" },
    slots: { type: "string", default: "16" },
  },
});
const projectDir = mkdtempSync(join(tmpdir(), "ferry-bench-cache-"));
const slots = Number(values.slots);

function compile(text: string): CompiledWorkflow {
  const { compiled, diagnostics } = compileSpec(text);
  if (!compiled) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
  return compiled;
}

const { instance } = parseWfInstance(readFileSync(join(WFCOMMONS_DIR, `${values.instance}.json`), "utf8"));
const unscaled = compile(importWfCommons(instance!).yaml!);
const index = new Map(unscaled.ir.steps.map((s, i) => [s.name, i]));
const deps = unscaled.ir.steps.map((s) => s.depends.map((d) => index.get(d)!));
const durations = unscaled.ir.steps.map((s) => Number(s.hints.durationSeconds ?? 0));
const scale = Number(values["critical-path-seconds"]) / criticalPath(deps, (v) => durations[v]!).length;
const roots = new Set(unscaled.ir.steps.filter((s) => s.depends.length === 0).map((s) => s.name));

// Every step sleeps its scaled runtime, then outputs a digest of its input (deps outputs), so a change
// flows down the DAG exactly as far as outputs change. A leaf also reads its data file, named in the
// command, so it is part of what runs (the process runtime hashes the files a command names).
writeFileSync(
  join(projectDir, "step.sh"),
  // A shell script, not a template: `$2` is the leaf's data file, when there is one.
  [
    'sleep "$1"',
    'd=$(cat "$FERRY_INPUT_FILE" $2 | sha256sum | cut -c1-16)',
    'echo "{\\"d\\": \\"$d\\"}"',
    "",
  ].join("\n"),
);
mkdirSync(join(projectDir, "leaf"));
for (const leaf of roots) writeFileSync(join(projectDir, "leaf", `${leaf}.dat`), `${leaf} v1\n`);
let current = "";
const yaml = importWfCommons(instance!, { scale })
  .yaml!.replace("defaults: {timeoutSeconds: 3600}", "defaults: {timeoutSeconds: 3600, cache: true}")
  .replace(/^name: /m, 'version: "1.1"\nname: ')
  .split("\n")
  .map((line) => {
    const name = /^ {2}- name: (\S+)/.exec(line);
    if (name) current = name[1]!;
    const sleep = /^( +)command: \[sleep, "([^"]+)"\]$/.exec(line);
    if (!sleep) return line;
    const leaf = roots.has(current) ? `, "leaf/${current}.dat"` : "";
    return `${sleep[1]}command: [sh, step.sh, "${sleep[2]}"${leaf}]`;
  })
  .join("\n");
const compiled = compile(yaml);
const steps = compiled.ir.steps;

async function run(label: string) {
  const t0 = performance.now();
  const result = await runWorkflow(compiled, {
    specFile: "bench",
    projectDir,
    input: {},
    concurrency: slots,
  });
  const ms = performance.now() - t0;
  if (result.record.status !== "SUCCEEDED")
    throw new Error(`${label}: ${result.record.status} ${JSON.stringify(result.record.error)}`);
  const rerun = result.record.steps.filter((s) => !s.cacheHits).map((s) => s.name);
  return { ms, rerun, record: result.record };
}

console.log(
  `${values.instance}: ${steps.length} steps, sleep-scaled ×${scale.toPrecision(3)} to a ${values["critical-path-seconds"]} s critical path, ${slots} slots (compile time excluded)`,
);
const first = await run("first run");
console.log(
  `  first run (cold cache):     ${(first.ms / 1000).toFixed(2)} s, ${first.rerun.length} steps ran`,
);
const second = await run("second run");
console.log(
  `  second run (fully cached):  ${(second.ms / 1000).toFixed(3)} s, ${second.rerun.length} steps ran — ${((100 * second.ms) / first.ms).toFixed(2)}% of the first`,
);

// One leaf's input changes: its downstream cone (the leaf and everything reachable from it) must re-run, nothing else.
const dependents = new Map(steps.map((s) => [s.name, s.dependents]));
const leaf = [...roots].sort()[0]!;
const cone = new Set<string>();
const stack = [leaf];
while (stack.length > 0) {
  const s = stack.pop()!;
  if (cone.has(s)) continue;
  cone.add(s);
  stack.push(...(dependents.get(s) ?? []));
}
writeFileSync(join(projectDir, "leaf", `${leaf}.dat`), `${leaf} v2\n`);
const third = await run("after a leaf change");
const outside = third.rerun.filter((s) => !cone.has(s));
const missed = [...cone].filter((s) => !third.rerun.includes(s));
console.log(
  `  after leaf ${leaf}'s input changed: ${third.rerun.length} steps re-ran, downstream cone ${cone.size} steps (${outside.length} outside the cone, ${missed.length} of the cone not re-run) in ${(third.ms / 1000).toFixed(2)} s`,
);

// Lookup cost per step: key computation plus a lookup that hits, on every entry of the cache.
const cache = new LocalStepCache({ dir: cacheRoot(projectDir) });
const entries = await cache.list();
const rounds = 5;
let keyMs = 0;
let lookupMs = 0;
for (let r = 0; r < rounds; r++) {
  for (const e of entries) {
    const t0 = performance.now();
    stepCacheKey({
      definitionHash: e.entry!.definitionHash,
      runs: { codeHash: e.key },
      input: { input: {}, deps: { a: { d: e.key.slice(0, 16) }, b: { d: e.key.slice(16, 32) } } },
      inputFiles: {},
    });
    const t1 = performance.now();
    const found = await cache.lookup(e.scope, e.key);
    lookupMs += performance.now() - t1;
    keyMs += t1 - t0;
    if (!found.hit) throw new Error(`entry ${e.key} did not hit`);
  }
}
const lookups = rounds * entries.length;
const perStepSecond = second.ms / steps.length;
console.log(
  `  cache lookup per step (local): key ${(keyMs / lookups).toFixed(3)} ms + lookup ${(lookupMs / lookups).toFixed(3)} ms over ${lookups} hits; whole cached step in the second run ${perStepSecond.toFixed(2)} ms (orchestration included)`,
);
rmSync(projectDir, { recursive: true, force: true });
