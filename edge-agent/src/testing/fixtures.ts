// The contract only: benches measure an agent's memory with these fixtures, and an agent never loads the compiler.
import type { IrRuntime } from "@ferry/dsl-compiler";
import {
  type Manifest,
  type ManifestStep,
  manifestHash,
  type StepMessage,
  stepHash,
} from "@ferry/dsl-compiler/contract";

/** What a test step asks for unless it says otherwise. */
const TEST_RESOURCES = { cpu: 1, memoryMiB: 512, gpu: 0 };

/** A step definition for tests; `hash` is computed. */
export type TestStep = Partial<Omit<ManifestStep, "hash" | "runtime">> & { name: string; runtime: IrRuntime };

/** Builds a manifest whose hashes are valid, as `ferry compile` would. */
export function manifestOf(workflow: string, steps: TestStep[]): Manifest {
  const out: Record<string, ManifestStep> = {};
  for (const step of steps) {
    const definition = {
      site: "edge",
      executor: "agent" as const,
      resources: { ...TEST_RESOURCES },
      timeoutSeconds: 60,
      inputs: [],
      inputSites: {},
      outputs: [],
      cache: { enabled: false },
      ...step,
    };
    out[step.name] = { ...definition, hash: stepHash(definition) };
  }
  return { manifestVersion: 1, workflow, hash: manifestHash(out), steps: out };
}

let tokens = 0;

/** A valid step message body; each call gets a fresh token unless one is given. */
export function stepMessage(fields: Partial<StepMessage> & { workflow: string; step: string }): StepMessage {
  return {
    v: 1,
    token: `token-${++tokens}`,
    execution: "exec-1",
    attempt: 1,
    input: { input: {}, deps: {} },
    // The prefix the state machine gives: `<workflow>/<execution name>/`.
    jobFiles: {
      bucket: "local",
      prefix: `${fields.workflow}/${(fields.execution ?? "exec-1").split(":").pop()}/`,
    },
    ...fields,
  };
}

/** `sh -c script` as a process step. */
export function shStep(name: string, script: string, extra: Partial<TestStep> = {}): TestStep {
  return { name, runtime: { kind: "process", command: ["sh", "-c", script], env: {} }, ...extra };
}

/** A container step running `sh -c script` in `image`, with no network and small limits. */
export function containerShStep(
  name: string,
  image: string,
  script: string,
  extra: Partial<TestStep> = {},
): TestStep {
  return {
    name,
    runtime: {
      kind: "container",
      image,
      command: ["sh", "-c", script],
      env: {},
      network: "none",
      volumes: [],
    },
    resources: { cpu: 0.5, memoryMiB: 64, gpu: 0 },
    ...extra,
  };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
