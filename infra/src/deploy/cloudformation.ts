import {
  type Capability,
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
  UpdateStackCommand,
} from "@aws-sdk/client-cloudformation";
import { DeployError } from "./deploy-error.ts";

const CAPABILITIES: Capability[] = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"];
/** CloudFormation's limit on an inline `TemplateBody`. */
export const TEMPLATE_BODY_MAX_BYTES = 51_200;

export interface StackWaitOptions {
  /** @default 1_800_000 (30 minutes) */
  timeoutMs?: number;
  /** @default 1000 */
  pollMs?: number;
  /** Called with each new stack event while waiting. */
  onEvent?: (event: StackEvent) => void;
  signal?: AbortSignal;
}

export interface DeployStackInput {
  stackName: string;
  /** Inline template body, or a URL of the template in S3 when it is over {@link TEMPLATE_BODY_MAX_BYTES}. */
  template: { body: string } | { url: string };
  description?: string;
  /** Stack tags, set on create and on every update. */
  tags?: Record<string, string>;
  /**
   * Called with the existing stack (if any) before anything changes; throw
   * to refuse (e.g. the stack belongs to another workflow of the same name).
   */
  checkExisting?: (stack: Stack) => void;
}

export type DeployStackOutcome = "created" | "updated" | "unchanged";

/** States a stack cannot be updated from; it is deleted and created again. */
const DEAD_STATES = new Set(["CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"]);

/** Describes a stack; undefined when it does not exist (or was deleted). */
export async function describeStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Stack | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    return stack && stack.StackStatus !== "DELETE_COMPLETE" ? stack : undefined;
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) return undefined;
    throw error;
  }
}

/**
 * Creates the stack, or updates it when it exists: re-deploying an
 * unchanged template is a no-op. A stack left in a failed state by an
 * earlier create is deleted first. Waits until the stack is stable and
 * throws `STACK_FAILED` with the failing resources' events otherwise.
 */
export async function deployStack(
  cfn: CloudFormationClient,
  input: DeployStackInput,
  options: StackWaitOptions = {},
): Promise<DeployStackOutcome> {
  let existing = await describeStack(cfn, input.stackName);
  if (existing?.StackStatus?.endsWith("_IN_PROGRESS")) {
    existing = await waitForStack(cfn, input.stackName, options);
  }
  if (existing && DEAD_STATES.has(existing.StackStatus ?? "")) {
    await deleteStack(cfn, input.stackName, options);
    existing = undefined;
  }
  if (existing) input.checkExisting?.(existing);
  const Tags = Object.entries(input.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
  const template =
    "body" in input.template ? { TemplateBody: input.template.body } : { TemplateURL: input.template.url };
  const since = new Date(Date.now() - 1000);
  if (!existing) {
    await cfn.send(
      new CreateStackCommand({
        StackName: input.stackName,
        ...template,
        Capabilities: CAPABILITIES,
        Tags,
      }),
    );
    await expectStatus(cfn, input.stackName, "CREATE_COMPLETE", since, options);
    return "created";
  }
  try {
    await cfn.send(
      new UpdateStackCommand({
        StackName: input.stackName,
        ...template,
        Capabilities: CAPABILITIES,
        Tags,
      }),
    );
  } catch (error) {
    if (/no updates are to be performed/i.test((error as Error).message)) return "unchanged";
    throw error;
  }
  await expectStatus(cfn, input.stackName, "UPDATE_COMPLETE", since, options);
  return "updated";
}

/** Deletes the stack and waits until it is gone; a missing stack is not an error. Returns whether it existed. */
export async function deleteStack(
  cfn: CloudFormationClient,
  stackName: string,
  options: StackWaitOptions = {},
): Promise<boolean> {
  const existing = await describeStack(cfn, stackName);
  if (!existing) return false;
  const since = new Date(Date.now() - 1000);
  await cfn.send(new DeleteStackCommand({ StackName: existing.StackId ?? stackName }));
  const final = await waitForStack(cfn, existing.StackId ?? stackName, options);
  if (final && final.StackStatus !== "DELETE_COMPLETE") {
    throw new DeployError(
      "STACK_FAILED",
      `stack ${stackName}: delete ended in ${final.StackStatus}${final.StackStatusReason ? ` (${final.StackStatusReason})` : ""}; delete the resources listed below by hand, then run destroy again`,
      { details: await failedEvents(cfn, existing.StackId ?? stackName, since) },
    );
  }
  return true;
}

async function expectStatus(
  cfn: CloudFormationClient,
  stackName: string,
  wanted: string,
  since: Date,
  options: StackWaitOptions,
): Promise<void> {
  const final = await waitForStack(cfn, stackName, options, since);
  if (final?.StackStatus === wanted) return;
  const status = final?.StackStatus ?? "DELETE_COMPLETE";
  throw new DeployError(
    "STACK_FAILED",
    `stack ${stackName}: deploy ended in ${status}${final?.StackStatusReason ? ` (${final.StackStatusReason})` : ""}, expected ${wanted}; the failing resources are listed below`,
    { details: await failedEvents(cfn, stackName, since) },
  );
}

/**
 * Polls the stack until no operation is in progress, reporting new events;
 * returns its final description (undefined once deleted). Bounded by `timeoutMs`.
 */
export async function waitForStack(
  cfn: CloudFormationClient,
  stackName: string,
  options: StackWaitOptions = {},
  since: Date = new Date(),
): Promise<Stack | undefined> {
  const { timeoutMs = 1_800_000, pollMs = 1000 } = options;
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  for (;;) {
    const stack = await describeStack(cfn, stackName);
    if (options.onEvent) {
      for (const event of await newEvents(cfn, stackName, since, seen)) options.onEvent(event);
    }
    if (!stack?.StackStatus?.endsWith("_IN_PROGRESS")) return stack;
    if (Date.now() > deadline) {
      throw new DeployError(
        "TIMED_OUT",
        `stack ${stackName}: still ${stack.StackStatus} after ${Math.round(timeoutMs / 1000)} s; follow it in the CloudFormation console, then run the command again`,
      );
    }
    if (options.signal?.aborted) throw options.signal.reason ?? new Error("cancelled");
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function newEvents(
  cfn: CloudFormationClient,
  stackName: string,
  since: Date,
  seen: Set<string>,
): Promise<StackEvent[]> {
  let events: StackEvent[];
  try {
    events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) return [];
    throw error;
  }
  const fresh = events.filter(
    (e) => e.EventId && !seen.has(e.EventId) && (e.Timestamp?.getTime() ?? 0) >= since.getTime(),
  );
  for (const e of fresh) seen.add(e.EventId!);
  return fresh.reverse();
}

/** One line per failed resource event since `since`: `LogicalId (Type): STATUS reason`. */
export async function failedEvents(
  cfn: CloudFormationClient,
  stackName: string,
  since: Date,
): Promise<string[]> {
  let events: StackEvent[] = [];
  try {
    events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
  } catch (error) {
    return [`(could not read the stack events: ${(error as Error).message})`];
  }
  return events
    .filter(
      (e) =>
        e.ResourceStatus?.endsWith("_FAILED") &&
        e.ResourceStatusReason &&
        (e.Timestamp?.getTime() ?? 0) >= since.getTime() &&
        e.ResourceType !== "AWS::CloudFormation::Stack",
    )
    .reverse()
    .map((e) => `${e.LogicalResourceId} (${e.ResourceType}): ${e.ResourceStatus} ${e.ResourceStatusReason}`);
}
