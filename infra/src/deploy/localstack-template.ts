import type { WorkflowIr } from "@ferry/dsl-compiler";
import { DeployError } from "./deploy-error.ts";

/**
 * LocalStack 4.14's Step Functions parses `ToleratedFailurePercentage`
 * only as a decimal literal (an integer such as 10 is a syntax error) and
 * then ignores it, its ItemReader knows InputType JSON and CSV, not
 * JSONL, and its grammar has no ItemBatcher. A workflow using any of them
 * is refused before anything is deployed.
 */
function refuseUnsupportedForeach(ir: WorkflowIr): void {
  for (const step of ir.steps) {
    const foreach = step.foreach;
    if (foreach?.mode !== "distributed") continue;
    if (foreach.toleratedFailurePercentage > 0)
      throw new DeployError(
        "UNSUPPORTED_ON_LOCALSTACK",
        `workflow ${ir.name}: step ${step.name} sets foreach.toleratedFailurePercentage, which LocalStack 4.14 cannot run (its parser refuses an integer ToleratedFailurePercentage and it ignores the field: any failed item fails the map run); run the workflow with ferry run or deploy it to AWS, or drop the field for LocalStack`,
      );
    if (foreach.batch)
      throw new DeployError(
        "UNSUPPORTED_ON_LOCALSTACK",
        `workflow ${ir.name}: step ${step.name} sets foreach.batch, which compiles to an ItemBatcher that LocalStack 4.14's Step Functions grammar does not have; run the workflow with ferry run or deploy it to AWS, or drop foreach.batch for LocalStack`,
      );
    if (foreach.reader.kind === "records" && foreach.reader.format === "jsonl")
      throw new DeployError(
        "UNSUPPORTED_ON_LOCALSTACK",
        `workflow ${ir.name}: step ${step.name} reads JSON-lines records, which LocalStack 4.14's ItemReader cannot (it knows InputType JSON and CSV); run the workflow with ferry run or deploy it to AWS, or write the records as a JSON array or CSV`,
      );
  }
}

/** A CloudFormation template, as far as the LocalStack adaptation reads it. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What the `localstack` target changed in the template, for the deploy report. */
export interface LocalStackAdaptation {
  template: CfnTemplate;
  /** One line per kind of change: what was left out and why. */
  notes: string[];
}

/**
 * Resource types the `localstack` target leaves out of the template.
 * CloudWatch is not among the services Ferry's LocalStack runs, and alarms
 * would not act there anyway.
 */
const LEFT_OUT_TYPES: Record<string, string> = {
  "AWS::CloudWatch::Alarm":
    "CloudWatch alarms (CloudWatch is not a LocalStack service Ferry uses; alarms act only on AWS)",
};

/**
 * Adapts the synthesized `localstack` template to what LocalStack 4.14
 * (community) can deploy and run correctly. The state machine definitions
 * are left untouched: LocalStack runs the very ASL AWS runs.
 *
 * - Lambda functions and Fargate pools are already left out by the
 *   construct (`target: "localstack"`); `ferry functions serve` and agents
 *   poll their queues instead.
 * - CloudWatch alarms are removed.
 * - State machine logging to CloudWatch Logs is removed, with its log group:
 *   LocalStack writes every history event to CloudWatch Logs synchronously,
 *   between sending a task's SQS message and arming the task's heartbeat
 *   timer, and loses a `SendTaskSuccess` that arrives in that window (the
 *   task then fails with `States.Timeout` after `HeartbeatSeconds`). The
 *   execution history (`ferry status`) keeps every event.
 *
 * - Trigger rules with an input transformer get an `id` field (the event's
 *   id) in the templated input: LocalStack names the execution after the
 *   target input's `id` and, without one, starts no execution and reports
 *   nothing.
 *
 * Distributed Maps run there (ItemReader JSON and CSV, listObjectsV2 up to
 * 1,000 keys, child executions, MaxConcurrency), but its ResultWriter
 * writes a manifest listing no result files; fields it cannot run are
 * refused (see {@link refuseUnsupportedForeach}).
 *
 * HTTP steps on aws sites cannot run on LocalStack (it rejects
 * `arn:aws:states:::http:invoke` as an unknown service); such workflows are
 * refused before anything is deployed.
 */
export function adaptTemplateForLocalStack(template: CfnTemplate, ir: WorkflowIr): LocalStackAdaptation {
  refuseUnsupportedForeach(ir);
  const httpSteps = ir.steps.filter((s) => s.executor === "http-task").map((s) => s.name);
  if (httpSteps.length > 0) {
    throw new DeployError(
      "UNSUPPORTED_ON_LOCALSTACK",
      `workflow ${ir.name}: HTTP steps on aws sites (${httpSteps.join(", ")}) cannot run on LocalStack 4.14, whose Step Functions rejects arn:aws:states:::http:invoke ("Unknown service 'http'"); deploy to AWS, or place the HTTP steps on an edge site so an agent calls them`,
    );
  }
  const resources: CfnTemplate["Resources"] = { ...template.Resources };
  const notes: string[] = [];
  const removed = new Set<string>();
  for (const [type, why] of Object.entries(LEFT_OUT_TYPES)) {
    const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type);
    if (ids.length === 0) continue;
    for (const id of ids) {
      delete resources[id];
      removed.add(id);
    }
    notes.push(`left out ${ids.length} ${why}`);
  }
  const machines = Object.entries(resources).filter(([, r]) => r.Type === "AWS::StepFunctions::StateMachine");
  const logGroups = new Set<string>();
  for (const [id, machine] of machines) {
    const props = machine.Properties ?? {};
    if (!props.LoggingConfiguration) continue;
    for (const ref of logicalIdsIn(props.LoggingConfiguration)) logGroups.add(ref);
    const { LoggingConfiguration: _dropped, ...rest } = props;
    resources[id] = { ...machine, Properties: rest };
  }
  const droppedGroups = [...logGroups].filter((id) => resources[id]?.Type === "AWS::Logs::LogGroup");
  for (const id of droppedGroups) {
    if (referencedBy(resources, id)) continue;
    delete resources[id];
    removed.add(id);
  }
  if (logGroups.size > 0) {
    notes.push(
      "left out state machine logging to CloudWatch Logs: LocalStack 4.14 loses task answers that arrive while it writes the log (the history in `ferry status` keeps every event)",
    );
  }
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).filter(
      ([, value]) => !logicalIdsIn(value).some((ref) => removed.has(ref)),
    ),
  );
  for (const [id, resource] of Object.entries(resources)) {
    const dependsOn = resource.DependsOn;
    if (dependsOn === undefined) continue;
    const list = (Array.isArray(dependsOn) ? dependsOn : [dependsOn]).filter(
      (dep): dep is string => typeof dep === "string" && !removed.has(dep),
    );
    resources[id] = { ...resource, DependsOn: list };
  }
  const named = nameTriggeredExecutions(resources, ir);
  if (named > 0) {
    notes.push(
      `added "id" (the event's id) to the templated input of ${named} trigger rule${named === 1 ? "" : "s"}: LocalStack 4.14 names the execution after the input's id and starts none without one`,
    );
  }
  return { template: { ...template, Resources: resources, Outputs: outputs }, notes };
}

/** Placeholder the LocalStack adaptation adds to a trigger's input template for the event id. */
const EVENT_ID_PLACEHOLDER = "ferryEventId";

/**
 * Gives every rule target that starts a state machine with a templated
 * input an `id` holding the event's id, unless the template has its own.
 * Returns how many rules it changed; refuses a template that is not a JSON
 * object, which LocalStack could never start an execution with.
 */
function nameTriggeredExecutions(resources: CfnTemplate["Resources"], ir: WorkflowIr): number {
  let changed = 0;
  for (const [id, rule] of Object.entries(resources)) {
    if (rule.Type !== "AWS::Events::Rule") continue;
    const targets = (rule.Properties?.Targets ?? []) as Array<Record<string, unknown>>;
    let touched = false;
    const adapted = targets.map((target) => {
      const transformer = target.InputTransformer as
        | { InputPathsMap?: Record<string, string>; InputTemplate: string }
        | undefined;
      const machine = logicalIdsIn(target.Arn)[0];
      if (!transformer || !machine || resources[machine]?.Type !== "AWS::StepFunctions::StateMachine")
        return target;
      const shape = templateShape(transformer.InputTemplate);
      if (shape === undefined) {
        throw new DeployError(
          "UNSUPPORTED_ON_LOCALSTACK",
          `workflow ${ir.name}: rule ${id} templates its execution input as ${transformer.InputTemplate}, not a JSON object; LocalStack 4.14 names a rule's execution after the input's "id" field and starts none without one, so give the trigger an input: object (or deploy to AWS)`,
        );
      }
      if ("id" in shape) return target;
      touched = true;
      const rest = transformer.InputTemplate.trim().slice(1);
      return {
        ...target,
        InputTransformer: {
          InputPathsMap: { ...(transformer.InputPathsMap ?? {}), [EVENT_ID_PLACEHOLDER]: "$.id" },
          InputTemplate: `{"id":<${EVENT_ID_PLACEHOLDER}>${rest.trimStart().startsWith("}") ? "" : ","}${rest}`,
        },
      };
    });
    if (!touched) continue;
    resources[id] = { ...rule, Properties: { ...rule.Properties, Targets: adapted } };
    changed++;
  }
  return changed;
}

/** The top-level object of an input template (placeholders read as null), or undefined when it is not one. */
function templateShape(template: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(template.replace(/<[A-Za-z0-9_.-]+>/g, "null"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Logical ids a template fragment names through `Ref` or `Fn::GetAtt`. */
export function logicalIdsIn(value: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      if (key === "Ref" && typeof child === "string") found.push(child);
      else if (key === "Fn::GetAtt" && Array.isArray(child) && typeof child[0] === "string")
        found.push(child[0]);
      else walk(child);
    }
  };
  walk(value);
  return found;
}

/** Whether any resource's properties still refer to `id` (a mere DependsOn is dropped with it). */
function referencedBy(resources: CfnTemplate["Resources"], id: string): boolean {
  return Object.values(resources).some((r) => logicalIdsIn(r.Properties).includes(id));
}
