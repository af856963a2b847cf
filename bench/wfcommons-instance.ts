// A WfCommons instance generated with the `wfcommons` package's recipes (seeded,
// so every machine gets the same DAG), installed on first use into the
// project-local virtualenv `.venv/wfcommons`.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const VENV = join(ROOT, ".venv", "wfcommons");
const PYTHON = join(VENV, "bin", "python");
export const WFCOMMONS_VERSION = "1.6";

function ensureWfCommons(): void {
  if (existsSync(PYTHON)) return;
  process.stderr.write(`installing wfcommons ${WFCOMMONS_VERSION} into .venv/wfcommons …\n`);
  execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  execFileSync(join(VENV, "bin", "pip"), ["install", "--quiet", `wfcommons==${WFCOMMONS_VERSION}`], {
    stdio: "inherit",
  });
}

/** The instance file of `recipe` with about `tasks` tasks, generated once under `.ferry/bench`. */
export function generatedInstance(recipe: string, tasks: number): string {
  const out = join(ROOT, ".ferry", "bench", `${recipe}-${tasks}.json`);
  if (!existsSync(out)) {
    ensureWfCommons();
    execFileSync(
      PYTHON,
      [
        join(ROOT, "bench", "simulate-generate.py"),
        "--recipe",
        recipe,
        "--tasks",
        String(tasks),
        "--out",
        out,
      ],
      { stdio: "inherit" },
    );
  }
  return out;
}
