import type { WorkflowIr } from "../ir/ir.ts";

/**
 * Names of the definition-substitution slots (`${Name}`) the compiled ASL
 * leaves for deploy-time values. The CDK construct fills them through
 * `definitionSubstitutions`; the embedded runtime and LocalStack fill them
 * with their own URLs and names.
 */
export interface SubstitutionSlots {
  /** S3 bucket holding job files. */
  jobBucket: string;
  /** DynamoDB table that joins DAG edges crossing Parallel branches; only when the DAG needs it. */
  joinTable?: string;
  /** Queue id → slot holding that queue's URL. */
  queues: Record<string, string>;
  /** Step name → slot holding the EventBridge connection ARN of its HTTP task. */
  httpConnections: Record<string, string>;
  /** Child state machine id → slot holding its ARN. */
  childStateMachines: Record<string, string>;
}

/** Builds unique, CloudFormation-safe slot names, readable where the ids allow. */
export class SlotNamer {
  private readonly used = new Set<string>();
  name(prefix: string, id: string): string {
    const base = `${prefix}_${id.replace(/[^A-Za-z0-9]/g, "_")}`;
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}_${n}`;
    this.used.add(name);
    return name;
  }
}

export function baseSlots(ir: WorkflowIr): SubstitutionSlots {
  const namer = new SlotNamer();
  const queues: Record<string, string> = {};
  for (const q of ir.queues) queues[q.id] = namer.name("QueueUrl", q.id);
  const httpConnections: Record<string, string> = {};
  for (const s of ir.steps)
    if (s.executor === "http-task") httpConnections[s.name] = namer.name("HttpConnection", s.name);
  return { jobBucket: "JobBucket", queues, httpConnections, childStateMachines: {} };
}

export function slotRef(slot: string): string {
  return `\${${slot}}`;
}
