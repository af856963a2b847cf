import { compileSpec } from "@ferry/dsl-compiler";
import type { ScaledInstance } from "./accuracy.ts";

/**
 * Seeded synthetic workflows of the three shapes the held-out check needs,
 * with sleep steps whose `hints.durationSeconds` say how long they sleep:
 * wide levels of short steps, deep chains, and joins (fan-out, fan-in,
 * repeated). Same seed, same workflow.
 */
export type Shape = "wide" | "chains" | "joins";

export function syntheticInstance(
  shape: Shape,
  options: { stepSeconds: number; seed?: number },
): ScaledInstance {
  let state = options.seed ?? 7;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const steps: Array<{ name: string; depends: string[] }> = [];
  if (shape === "wide") {
    // 4 levels of 25 steps; each step waits for two of the level before.
    for (let level = 0; level < 4; level++)
      for (let i = 0; i < 25; i++)
        steps.push({
          name: `w${level}-${i}`,
          depends:
            level === 0
              ? []
              : [...new Set([Math.floor(random() * 25), Math.floor(random() * 25)])].map(
                  (d) => `w${level - 1}-${d}`,
                ),
        });
  } else if (shape === "chains") {
    // 6 independent chains of 12 steps.
    for (let c = 0; c < 6; c++)
      for (let i = 0; i < 12; i++)
        steps.push({ name: `c${c}-${i}`, depends: i === 0 ? [] : [`c${c}-${i - 1}`] });
  } else {
    // 5 rounds of a 12-way fan-out joined by one step.
    let previous: string[] = [];
    for (let round = 0; round < 5; round++) {
      const fan = Array.from({ length: 12 }, (_, i) => `j${round}-${i}`);
      for (const name of fan) steps.push({ name, depends: previous });
      steps.push({ name: `join${round}`, depends: fan });
      previous = [`join${round}`];
    }
  }
  const lines = [`name: synthetic-${shape}`, "sites: { local: { type: edge } }", "steps:"];
  for (const step of steps) {
    const seconds = Math.round(options.stepSeconds * (0.5 + random()) * 1000) / 1000;
    lines.push(
      `  - { name: ${step.name}, site: local, depends: [${step.depends.join(", ")}], process: { command: [sleep, "${seconds}"] }, hints: { durationSeconds: ${seconds} } }`,
    );
  }
  const yaml = `${lines.join("\n")}\n`;
  const { compiled, diagnostics } = compileSpec(yaml);
  if (!compiled) throw new Error(`synthetic ${shape}: ${JSON.stringify(diagnostics[0])}`);
  return { name: `synthetic-${shape}`, tasks: steps.length, scale: 1, yaml, compiled };
}
