import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CompiledStateMachine, CompiledWorkflow } from "@ferry/dsl-compiler";
import { foreachResultsPattern, siteKeyPatterns } from "@ferry/dsl-compiler/contract";
import { ArnFormat, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { InfraError } from "../errors.ts";
import { type SlotTarget, slotsUsed, slotTargets } from "./definition-slots.ts";
import type { HttpStepConnection } from "./http-connections.ts";
import { acknowledgeWildcardResource } from "./nag.ts";
import { sha256Hex } from "./names.ts";
import type { StepQueue } from "./step-queues.ts";

export interface MachineResources {
  bucket: s3.IBucket;
  joinTable?: dynamodb.ITable;
  queues: Map<string, StepQueue>;
  connections: Map<string, HttpStepConnection>;
}

export interface StateMachinesOptions {
  /** Machine id → state machine name. */
  names: Map<string, string>;
  logGroup: logs.ILogGroup;
  logLevel: sfn.LogLevel;
  includeExecutionData: boolean;
  tracing: boolean;
  /** Definitions larger than this go to S3 (`DefinitionS3Location`) instead of the template. */
  inlineDefinitionMaxBytes: number;
}

/** Rule Step Functions creates to learn when a `.sync` child execution ends. */
const SYNC_EVENTS_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule";

/**
 * Creates the child state machines, then the root, each STANDARD with
 * logging and tracing, every `${Slot}` of its definition filled through
 * `definitionSubstitutions`, and a role allowed exactly what its definition
 * uses: its queues, the join table, the child machines it starts, its HTTP
 * endpoints, and answering this workflow's task tokens.
 */
export function createStateMachines(
  scope: Construct,
  compiled: CompiledWorkflow,
  resources: MachineResources,
  options: StateMachinesOptions,
): { root: sfn.StateMachine; children: Map<string, sfn.StateMachine> } {
  const targets = slotTargets(compiled.substitutions);
  const allArns = [...options.names.values()].map((name) => stateMachineArn(scope, name));
  const children = new Map<string, sfn.StateMachine>();
  const build = (machine: CompiledStateMachine) => {
    const group = new Construct(scope, machine.id === "root" ? "StateMachine" : `StateMachine-${machine.id}`);
    return createMachine(group, machine, { compiled, resources, options, targets, allArns, children });
  };
  for (const child of compiled.childStateMachines) children.set(child.id, build(child));
  return { root: build(compiled.stateMachine), children };
}

interface BuildContext {
  compiled: CompiledWorkflow;
  resources: MachineResources;
  options: StateMachinesOptions;
  targets: Map<string, SlotTarget>;
  allArns: string[];
  children: Map<string, sfn.StateMachine>;
}

function createMachine(scope: Construct, machine: CompiledStateMachine, ctx: BuildContext): sfn.StateMachine {
  const json = JSON.stringify(machine.definition);
  const substitutions: Record<string, string> = {};
  const used: SlotTarget[] = [];
  for (const slot of slotsUsed(json)) {
    const target = ctx.targets.get(slot);
    if (!target) {
      throw new InfraError(
        "UNKNOWN_SLOT",
        scope,
        `the definition of state machine "${machine.id}" uses \${${slot}}, which compiled.substitutions does not define; compile the workflow again with the same @ferry/dsl-compiler version`,
      );
    }
    substitutions[slot] = slotValue(scope, machine.id, slot, target, ctx);
    used.push(target);
  }
  const name = ctx.options.names.get(machine.id)!;
  const stateMachine = new sfn.StateMachine(scope, "Resource", {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: definitionBody(json, name, ctx.options.inlineDefinitionMaxBytes),
    definitionSubstitutions: substitutions,
    comment: `Ferry workflow ${ctx.compiled.ir.name} (${machine.id})`,
    logs: {
      destination: ctx.options.logGroup,
      level: ctx.options.logLevel,
      includeExecutionData: ctx.options.includeExecutionData,
    },
    tracingEnabled: ctx.options.tracing,
  });
  grantDefinitionAccess(stateMachine, name, json, used, ctx, machine.states);
  acknowledgeServiceWildcards(stateMachine, ctx.options);
  return stateMachine;
}

function slotValue(
  scope: Construct,
  machineId: string,
  slot: string,
  target: SlotTarget,
  ctx: BuildContext,
): string {
  const missing = (what: string) =>
    new InfraError(
      "MISSING_SLOT",
      scope,
      `state machine "${machineId}" needs \${${slot}} (${what}), but the workflow has none; compile the workflow again`,
    );
  switch (target.kind) {
    case "job-bucket":
      return ctx.resources.bucket.bucketName;
    case "join-table":
      if (!ctx.resources.joinTable) throw missing("the join table");
      return ctx.resources.joinTable.tableName;
    case "queue": {
      const queue = ctx.resources.queues.get(target.queueId);
      if (!queue) throw missing(`queue "${target.queueId}"`);
      return queue.queue.queueUrl;
    }
    case "http-connection": {
      const connection = ctx.resources.connections.get(target.step);
      if (!connection) throw missing(`the HTTP connection of step "${target.step}"`);
      return connection.connection.connectionArn;
    }
    case "child-state-machine": {
      const child = ctx.children.get(target.machineId);
      if (!child)
        throw missing(`child state machine "${target.machineId}", which must be listed before its parent`);
      return child.stateMachineArn;
    }
  }
}

function definitionBody(json: string, name: string, inlineMaxBytes: number): sfn.DefinitionBody {
  if (Buffer.byteLength(json) <= inlineMaxBytes) return sfn.DefinitionBody.fromString(json);
  // Large definitions would crowd CloudFormation's 1 MB template limit; an S3 asset keeps the template small.
  const dir = join(tmpdir(), "ferry-definitions");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${sha256Hex(json).slice(0, 16)}.asl.json`);
  writeFileSync(file, json);
  return sfn.DefinitionBody.fromFile(file);
}

function grantDefinitionAccess(
  machine: sfn.StateMachine,
  name: string,
  json: string,
  used: SlotTarget[],
  ctx: BuildContext,
  states: CompiledStateMachine["states"],
): void {
  const { resources } = ctx;
  const queueArns = used.flatMap((t) =>
    t.kind === "queue" ? [resources.queues.get(t.queueId)!.queue.queueArn] : [],
  );
  if (queueArns.length > 0)
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: queueArns }));
  if (used.some((t) => t.kind === "join-table") && resources.joinTable) {
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:UpdateItem", "dynamodb:GetItem"],
        resources: [resources.joinTable.tableArn],
      }),
    );
  }
  if (json.includes('"arn:aws:states:::aws-sdk:sfn:sendTaskSuccess"')) {
    machine.addToRolePolicy(
      // No resource types for SendTaskSuccess in IAM (see taskResponseStatement); the service wildcard acknowledgement covers it.
      new iam.PolicyStatement({ actions: ["states:SendTaskSuccess"], resources: ["*"] }),
    );
  }
  grantDistributedMaps(machine, name, ctx.compiled, ctx.compiled.ir.name, resources.bucket, states);
  for (const target of used) {
    if (target.kind === "child-state-machine")
      grantStartChild(machine, ctx.options.names.get(target.machineId)!, ctx.children.get(target.machineId)!);
    if (target.kind === "http-connection")
      grantHttpInvoke(machine, name, resources.connections.get(target.step)!);
  }
}

/**
 * What a Distributed Map needs: starting its child executions (executions
 * of this very machine, named `<machine>/<map run label>:<id>`), describing,
 * stopping and redriving them, reading its items (ListBucket under the
 * listed prefix, or GetObject of the records file, in the writing site's
 * keys) and writing its results under the step's results folder.
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
 */
function grantDistributedMaps(
  machine: sfn.StateMachine,
  name: string,
  compiled: CompiledWorkflow,
  workflow: string,
  bucket: s3.IBucket,
  states: CompiledStateMachine["states"],
): void {
  const steps = Object.values(states).flatMap((role) =>
    role.kind === "foreach" && role.distributed ? [compiled.ir.steps.find((s) => s.name === role.step)!] : [],
  );
  if (steps.length === 0) return;
  const stack = Stack.of(machine);
  const children = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${name}/*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  machine.addToRolePolicy(
    // By name: the machine's own ARN would make its role depend on itself.
    new iam.PolicyStatement({
      actions: ["states:StartExecution"],
      resources: [stateMachineArn(machine, name)],
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"],
      resources: [children],
    }),
  );
  acknowledgeWildcardResource(
    machine.role,
    children,
    `Distributed Map child executions of ${name} get ids at run time; access is limited to that machine's map runs.`,
  );
  for (const step of steps) {
    const foreach = step.foreach;
    if (foreach?.mode !== "distributed") continue;
    const site = siteKeyPatterns(workflow, foreach.readSite).files;
    if (foreach.reader.kind === "files") {
      const prefix = `${site}/${foreach.reader.prefix}*`;
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": [prefix] } },
        }),
      );
    } else {
      const records = bucket.arnForObjects(`${site}/${foreach.reader.file}`);
      machine.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [records] }));
      acknowledgeWildcardResource(
        machine.role,
        records,
        `The records file of ${step.name} lies under one execution's folder, named at run time.`,
      );
    }
    const results = bucket.arnForObjects(foreachResultsPattern(workflow, step.site, step.name));
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        resources: [results],
      }),
    );
    acknowledgeWildcardResource(
      machine.role,
      results,
      `The ResultWriter of ${step.name} writes under its results folder of each execution, named at run time.`,
    );
  }
}

/** What `states:startExecution.sync:2` needs. @see https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html */
function grantStartChild(machine: sfn.StateMachine, childName: string, child: sfn.StateMachine): void {
  const stack = Stack.of(machine);
  const executions = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${childName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [child.stateMachineArn] }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["states:DescribeExecution", "states:StopExecution"],
      resources: [executions],
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
      resources: [stack.formatArn({ service: "events", resource: "rule", resourceName: SYNC_EVENTS_RULE })],
    }),
  );
  acknowledgeWildcardResource(
    machine.role,
    executions,
    `Executions of child state machine ${childName} get ids at run time; access is limited to that machine's executions.`,
  );
}

/** What the HTTP task needs: its endpoint and method only, its connection and that connection's secret. */
function grantHttpInvoke(
  machine: sfn.StateMachine,
  name: string,
  { step, connection }: HttpStepConnection,
): void {
  // IAM lists no resource types for InvokeHTTPEndpoint, so a statement naming the machine may never match;
  // the method and endpoint conditions carry the scoping.
  void name;
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["states:InvokeHTTPEndpoint"],
      resources: ["*"],
      conditions: {
        StringEquals: { "states:HTTPMethod": step.runtime.method, "states:HTTPEndpoint": step.runtime.url },
      },
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["events:RetrieveConnectionCredentials"],
      resources: [connection.connectionArn],
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      resources: [connection.connectionSecretArn],
    }),
  );
}

function acknowledgeServiceWildcards(machine: sfn.StateMachine, options: StateMachinesOptions): void {
  Validations.of(machine.role).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray (xray:PutTraceSegments and related) support no resource-level permissions.",
  });
  if (options.logLevel !== sfn.LogLevel.ALL) {
    Validations.of(machine).acknowledge({
      id: "AwsSolutions-SF1",
      reason: `Log level ${options.logLevel} chosen through FerryWorkflow's logLevel prop.`,
    });
  }
  if (!options.tracing) {
    Validations.of(machine).acknowledge({
      id: "AwsSolutions-SF2",
      reason: "X-Ray tracing turned off through FerryWorkflow's tracing prop.",
    });
  }
}

/** The ARN of a state machine by name, usable before (and without depending on) the machine itself. */
export function stateMachineArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({
    service: "states",
    resource: "stateMachine",
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
