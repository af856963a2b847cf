import { createHash } from "node:crypto";

/** CloudFormation logical ids and output keys: the compiler's sanitising, so its collision check covers them. */
export { pascalCase } from "@ferry/dsl-compiler";

/** Hands out names that stay unique when two inputs map to the same base name. */
export class UniqueNames {
  private readonly used = new Set<string>();
  take(base: string): string {
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}${n}`;
    this.used.add(name);
    return name;
  }
}

/** Step Functions state machine names: 1–80 characters of `[A-Za-z0-9_-]`. */
const STATE_MACHINE_NAME_MAX = 80;

/**
 * A readable, deterministic state machine name, `<workflow>-<machine>-<hash>`,
 * the hash taken from the construct's address so two stacks (or two
 * workflows in one stack) never collide. Fixed names let policies name the
 * machines' ARNs without a dependency cycle.
 */
export function stateMachineName(workflow: string, machineId: string, constructAddr: string): string {
  const hash = createHash("sha256").update(constructAddr).digest("hex").slice(0, 8);
  const suffix = `-${machineId}-${hash}`;
  return `${workflow.slice(0, STATE_MACHINE_NAME_MAX - suffix.length)}${suffix}`;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
