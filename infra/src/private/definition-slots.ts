import type { SubstitutionSlots } from "@ferry/dsl-compiler";

/** What a definition-substitution slot stands for, so the construct can fill it and grant access to it. */
export type SlotTarget =
  | { kind: "job-bucket" }
  | { kind: "join-table" }
  | { kind: "queue"; queueId: string }
  | { kind: "http-connection"; step: string }
  | { kind: "child-state-machine"; machineId: string };

/** Slot name → what it stands for, from the compiler's substitutions. */
export function slotTargets(substitutions: SubstitutionSlots): Map<string, SlotTarget> {
  const targets = new Map<string, SlotTarget>();
  targets.set(substitutions.jobBucket, { kind: "job-bucket" });
  if (substitutions.joinTable) targets.set(substitutions.joinTable, { kind: "join-table" });
  for (const [queueId, slot] of Object.entries(substitutions.queues))
    targets.set(slot, { kind: "queue", queueId });
  for (const [step, slot] of Object.entries(substitutions.httpConnections))
    targets.set(slot, { kind: "http-connection", step });
  for (const [machineId, slot] of Object.entries(substitutions.childStateMachines))
    targets.set(slot, { kind: "child-state-machine", machineId });
  return targets;
}

/** The `${Slot}` names a definition uses, in order of first use. */
export function slotsUsed(definitionJson: string): string[] {
  const used = new Set<string>();
  for (const match of definitionJson.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) used.add(match[1]!);
  return [...used];
}
