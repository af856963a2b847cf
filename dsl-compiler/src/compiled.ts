import type { AslDefinition } from "./asl/asl-types.ts";
import type { SubstitutionSlots } from "./asl/slots.ts";
import type { StateIndex } from "./asl/state-index.ts";
import type { Manifest } from "./contract/manifest.ts";
import type { WorkflowIr } from "./ir/ir.ts";

/** Everything the compiler produces for one workflow; the input of the CDK construct and of every runtime. */
export interface CompiledWorkflow {
  ir: WorkflowIr;
  manifest: Manifest;
  /** The root state machine. */
  stateMachine: CompiledStateMachine;
  /** Children the root starts with `states:startExecution.sync:2` when one machine would exceed Step Functions limits; parents reference children by slot. Listed children-first. */
  childStateMachines: CompiledStateMachine[];
  substitutions: SubstitutionSlots;
}

export interface CompiledStateMachine {
  /** `root`, or `child-1`, `child-2`, … */
  id: string;
  definition: AslDefinition;
  /** What each state does, by state name, for runtimes and tools. */
  states: StateIndex;
}
