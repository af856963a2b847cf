/**
 * The IAM evidence: the `aws`-target template's policies resolved against a
 * stack deployed to LocalStack (same logical ids, so every Ref and GetAtt
 * becomes the physical name the recorded calls carry), and each call
 * evaluated with @cloud-copilot/iam-simulate for the principal that made it.
 */
import { readFileSync } from "node:fs";
import { CloudFormationClient, DescribeStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { queueArnOfUrl, type RecordedAwsCall } from "@ferry/functions/worker";
import { awsClientConfig } from "./env.ts";

export const ACCOUNT = "000000000000";

type Json = unknown;
interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
}
export interface AwsTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: Json }>;
}
export interface PolicyDocument {
  Version?: string;
  Statement: Array<Record<string, Json>>;
}

/** Logical id → physical id of a deployed stack. */
export async function physicalIds(stackName: string, region: string): Promise<Map<string, string>> {
  const cfn = new CloudFormationClient({ ...awsClientConfig(), region });
  try {
    const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
    return new Map(
      (out.StackResources ?? []).flatMap((r) =>
        r.LogicalResourceId && r.PhysicalResourceId ? [[r.LogicalResourceId, r.PhysicalResourceId]] : [],
      ),
    );
  } finally {
    cfn.destroy();
  }
}

/**
 * Resolves CloudFormation intrinsics. Resources LocalStack deployed resolve to
 * their physical names; the rest (Lambda roles, connections, which the
 * localstack target leaves out) to stable names made from their logical ids.
 */
export class TemplateResolver {
  constructor(
    private readonly template: AwsTemplate,
    private readonly physical: Map<string, string>,
    private readonly region: string,
  ) {}

  resolve(node: Json): Json {
    if (Array.isArray(node)) return node.map((n) => this.resolve(n));
    if (node === null || typeof node !== "object") return node;
    const o = node as Record<string, Json>;
    if (typeof o.Ref === "string") return this.ref(o.Ref);
    if (Array.isArray(o["Fn::GetAtt"])) {
      const [id, attr] = o["Fn::GetAtt"] as [string, string];
      return this.getAtt(id, attr);
    }
    if (Array.isArray(o["Fn::Join"])) {
      const [sep, items] = o["Fn::Join"] as [string, Json[]];
      return (this.resolve(items) as Json[]).map(String).join(sep);
    }
    if (o["Fn::Sub"] !== undefined) {
      const [text, vars] = Array.isArray(o["Fn::Sub"])
        ? (o["Fn::Sub"] as [string, Record<string, Json>])
        : [o["Fn::Sub"] as string, {}];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return String(this.resolve(vars[name]));
        const [id, attr] = name.split(".");
        return String(attr ? this.getAtt(id!, attr) : this.ref(id!));
      });
    }
    if (Array.isArray(o["Fn::Select"])) {
      const [index, list] = o["Fn::Select"] as [number, Json];
      return (this.resolve(list) as Json[])[Number(index)];
    }
    if (Array.isArray(o["Fn::Split"])) {
      const [sep, text] = o["Fn::Split"] as [string, Json];
      return String(this.resolve(text)).split(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(id: string): Json {
    const pseudo: Record<string, string> = {
      "AWS::Partition": "aws",
      "AWS::Region": this.region,
      "AWS::AccountId": ACCOUNT,
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": "stack",
    };
    if (pseudo[id]) return pseudo[id];
    const physical = this.physical.get(id);
    if (physical) return physical;
    // A queue's Ref is its URL; made-up URLs name the queue its made-up ARN names.
    if (this.template.Resources[id]?.Type === "AWS::SQS::Queue") {
      return `https://sqs.${this.region}.amazonaws.com/${ACCOUNT}/${id}-not-deployed`;
    }
    // A state machine's Ref is its ARN, built from its fixed name.
    const resource = this.template.Resources[id];
    if (resource?.Type === "AWS::StepFunctions::StateMachine") {
      return `arn:aws:states:${this.region}:${ACCOUNT}:stateMachine:${String(resource.Properties!.StateMachineName)}`;
    }
    // A topic's Ref is its ARN.
    if (resource?.Type === "AWS::SNS::Topic")
      return `arn:aws:sns:${this.region}:${ACCOUNT}:${id}-not-deployed`;
    return `${id}-not-deployed`;
  }

  private getAtt(id: string, attr: string): Json {
    const type = this.template.Resources[id]?.Type ?? "";
    const physical = this.physical.get(id);
    const name = physical ?? `${id}-not-deployed`;
    const r = this.region;
    switch (`${type}.${attr}`) {
      case "AWS::SQS::Queue.Arn":
        return physical ? queueArnOfUrl(physical, r) : `arn:aws:sqs:${r}:${ACCOUNT}:${name}`;
      case "AWS::SQS::Queue.QueueName":
        return physical ? physical.split("/").at(-1)! : name;
      case "AWS::S3::Bucket.Arn":
        return `arn:aws:s3:::${name}`;
      case "AWS::DynamoDB::Table.Arn":
        return `arn:aws:dynamodb:${r}:${ACCOUNT}:table/${name}`;
      case "AWS::IAM::Role.Arn":
        return `arn:aws:iam::${ACCOUNT}:role/${name}`;
      case "AWS::Events::Connection.Arn":
        return `arn:aws:events:${r}:${ACCOUNT}:connection/${id}/1`;
      case "AWS::Events::Connection.SecretArn":
        return `arn:aws:secretsmanager:${r}:${ACCOUNT}:secret:events!connection/${id}-abc`;
      case "AWS::KMS::Key.Arn":
        // LocalStack's physical id of a key is its key id.
        return physical?.startsWith("arn:") ? physical : `arn:aws:kms:${r}:${ACCOUNT}:key/${name}`;
      case "AWS::Events::Rule.Arn":
        return `arn:aws:events:${r}:${ACCOUNT}:rule/${name}`;
      case "AWS::Logs::LogGroup.Arn":
        return `arn:aws:logs:${r}:${ACCOUNT}:log-group:${name}:*`;
      default:
        return physical?.startsWith("arn:") ? physical : `arn:aws:unknown:${r}:${ACCOUNT}:${id}/${attr}`;
    }
  }
}

export function readTemplate(path: string): AwsTemplate {
  return JSON.parse(readFileSync(path, "utf8")) as AwsTemplate;
}

/** The worker policy of a queue (`site-lab`), from the `WorkflowWorkerPolicyArn<Queue>` output. */
export function workerPolicy(
  template: AwsTemplate,
  resolver: TemplateResolver,
  outputKey: string,
): PolicyDocument {
  const ref = (template.Outputs?.[outputKey]?.Value as { Ref?: string } | undefined)?.Ref;
  if (!ref) throw new Error(`template has no output ${outputKey}`);
  return resolver.resolve(template.Resources[ref]!.Properties!.PolicyDocument) as PolicyDocument;
}

/** Every policy attached to the role `roleLogicalId` (inline AWS::IAM::Policy resources). */
export function rolePolicies(
  template: AwsTemplate,
  resolver: TemplateResolver,
  roleLogicalId: string,
): PolicyDocument[] {
  return Object.values(template.Resources)
    .filter(
      (r) =>
        r.Type === "AWS::IAM::Policy" &&
        ((r.Properties?.Roles as Array<{ Ref?: string }>) ?? []).some((x) => x.Ref === roleLogicalId),
    )
    .map((r) => resolver.resolve(r.Properties!.PolicyDocument) as PolicyDocument);
}

/** The role of the Lambda function of step `step` (found by its FERRY_STEP variable). */
export function functionRole(template: AwsTemplate, step: string): string {
  const fn = Object.values(template.Resources).find(
    (r) =>
      r.Type === "AWS::Lambda::Function" &&
      (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
        ?.FERRY_STEP === step,
  );
  const role = (fn?.Properties?.Role as { "Fn::GetAtt"?: [string, string] } | undefined)?.["Fn::GetAtt"]?.[0];
  if (!role) throw new Error(`template has no Lambda function for step ${step}`);
  return role;
}

/** Logical ids of the state machines and their roles. */
export function stateMachines(template: AwsTemplate): Array<{ id: string; role: string; name: string }> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::StepFunctions::StateMachine")
    .map(([id, r]) => ({
      id,
      role: (r.Properties!.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0],
      name: r.Properties!.StateMachineName as string,
    }));
}

export interface Request {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
  /** The resource's own policy: KMS needs its key policy to let IAM policies grant anything. */
  resourcePolicy?: PolicyDocument;
  /** Who calls: a service principal such as `events.amazonaws.com`; default a role of the account. */
  principal?: string;
}

/** `Allowed`, `ImplicitlyDenied`, `ExplicitlyDenied`, or the simulator's error. */
export async function evaluate(policies: PolicyDocument[], request: Request): Promise<string> {
  const first = await simulate(policies, request);
  const ignored = first.resultType === "single" ? (first.result.ignoredContextKeys ?? []) : [];
  if (ignored.length === 0) return outcome(first);
  // The simulator drops context keys its IAM data does not list for the action; some actions
  // lack keys AWS evaluates (states:InvokeHTTPEndpoint's states:HTTPMethod and states:HTTPEndpoint),
  // so every condition on them would fail. Those conditions are checked here instead, and
  // the simulator evaluates the rest.
  const context = request.context ?? {};
  const checked = policies.map((policy) => ({
    ...policy,
    Statement: policy.Statement.flatMap((statement) => {
      const rest = conditionsOutside(statement, ignored, context);
      if (rest === false) return [];
      const { Condition: _, ...unconditioned } = statement;
      return [rest ? { ...unconditioned, Condition: rest } : unconditioned];
    }),
  }));
  const known = Object.fromEntries(Object.entries(context).filter(([key]) => !ignored.includes(key)));
  return outcome(await simulate(checked, { ...request, context: known }));
}

type Simulation = Awaited<ReturnType<typeof runSimulation>>;

async function simulate(policies: PolicyDocument[], request: Request): Promise<Simulation> {
  return runSimulation(
    {
      identityPolicies: policies.map((policy, i) => ({ name: `p${i}`, policy: policy as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: request.principal ?? `arn:aws:iam::${ACCOUNT}:role/ferry-principal`,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context ?? {},
      },
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    },
    {},
  );
}

function outcome(result: Simulation): string {
  if (result.resultType === "error") return `error: ${JSON.stringify(result.errors)}`;
  return result.overallResult;
}

/**
 * A statement's conditions on `keys` checked against `context` (`StringEquals`
 * and `StringLike` only; any other operator on them fails): `false` when one
 * fails, else the conditions left for the simulator (`undefined` for none).
 */
function conditionsOutside(
  statement: Record<string, Json>,
  keys: readonly string[],
  context: Record<string, string | string[]>,
): Record<string, Record<string, Json>> | undefined | false {
  const conditions = statement.Condition as Record<string, Record<string, Json>> | undefined;
  if (!conditions) return undefined;
  const lower = new Map(keys.map((k) => [k.toLowerCase(), k]));
  const rest: Record<string, Record<string, Json>> = {};
  for (const [operator, entries] of Object.entries(conditions)) {
    for (const [key, expected] of Object.entries(entries)) {
      const requestKey = lower.get(key.toLowerCase());
      if (requestKey === undefined) {
        rest[operator] = { ...rest[operator], [key]: expected };
        continue;
      }
      const actual = [context[requestKey] ?? []].flat();
      const patterns = [expected].flat().map(String);
      const matches = (value: string) =>
        operator === "StringEquals"
          ? patterns.includes(value)
          : operator === "StringLike" && patterns.some((p) => globMatch(p, value));
      if (actual.length === 0 || !actual.every(matches)) return false;
    }
  }
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** IAM's `StringLike`: `*` any run of characters, `?` one character. */
function globMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`).test(value);
}

/** The recorded calls of a JSON-lines file. */
export function readRecordedCalls(path: string): RecordedAwsCall[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordedAwsCall);
}

/** The request a recorded call makes to IAM. */
export function requestOf(call: RecordedAwsCall): Request {
  return {
    action: call.action,
    // A DynamoDB call names its table, not the account: LocalStack's is the one the template resolves to.
    resource: call.resource.replace(/^(arn:aws:dynamodb:[^:]*):\*:/, `$1:${ACCOUNT}:`),
    ...(call.prefix !== undefined ? { context: { "s3:prefix": call.prefix } } : {}),
  };
}

/** The key policy of each KMS key in the template, by the key's resolved ARN. */
export function keyPolicies(template: AwsTemplate, resolver: TemplateResolver): Map<string, PolicyDocument> {
  return new Map(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === "AWS::KMS::Key")
      .map(([id, r]) => [
        String(resolver.resolve({ "Fn::GetAtt": [id, "Arn"] })),
        resolver.resolve(r.Properties!.KeyPolicy as Json) as PolicyDocument,
      ]),
  );
}

/** A call the state machine role makes, read from its definition. */
export interface MachineCall extends Request {
  machine: string;
  state: string;
}

/**
 * What each Task state of a resolved definition asks of IAM: SQS sends,
 * DynamoDB join updates, child executions (`.sync:2`), HTTP invocations with
 * their connection, and waking joined branches.
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html
 */
export function machineCalls(machine: string, definition: AslNode, region: string): MachineCall[] {
  const calls: MachineCall[] = [];
  const visit = (states: Record<string, AslNode>) => {
    for (const [state, s] of Object.entries(states)) {
      for (const b of (s.Branches as AslNode[] | undefined) ?? []) visit(b.States as Record<string, AslNode>);
      const inner = (s.ItemProcessor ?? s.Iterator) as AslNode | undefined;
      if (inner) visit(inner.States as Record<string, AslNode>);
      if (s.Type === "Map" && (inner?.ProcessorConfig as AslNode | undefined)?.Mode === "DISTRIBUTED")
        calls.push(...distributedMapCalls(machine, state, s, region));
      if (s.Type !== "Task") continue;
      const p = (s.Parameters ?? s.Arguments ?? {}) as Record<string, Json>;
      const add = (action: string, resource: string, context?: Request["context"]) =>
        calls.push({ machine, state, action, resource, ...(context ? { context } : {}) });
      const resource = String(s.Resource).replace(/\.waitForTaskToken$/, "");
      const table = () => `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${String(p.TableName)}`;
      switch (resource) {
        case "arn:aws:states:::sqs:sendMessage":
          add("sqs:SendMessage", queueArnOfUrl(String(p.QueueUrl), region));
          break;
        case "arn:aws:states:::aws-sdk:dynamodb:updateItem":
          add("dynamodb:UpdateItem", table());
          break;
        case "arn:aws:states:::aws-sdk:dynamodb:getItem":
          add("dynamodb:GetItem", table());
          break;
        case "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess":
          add("states:SendTaskSuccess", "*");
          break;
        case "arn:aws:states:::states:startExecution.sync:2": {
          const child = String(p.StateMachineArn);
          add("states:StartExecution", child);
          const execution = `${child.replace(":stateMachine:", ":execution:")}:run-1`;
          add("states:DescribeExecution", execution);
          add("states:StopExecution", execution);
          const rule = `arn:aws:events:${region}:${ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`;
          for (const a of ["events:PutTargets", "events:PutRule", "events:DescribeRule"]) add(a, rule);
          break;
        }
        case "arn:aws:states:::http:invoke": {
          add("states:InvokeHTTPEndpoint", "*", {
            "states:HTTPMethod": String(p.Method),
            "states:HTTPEndpoint": String(p.ApiEndpoint),
          });
          const connection = String(
            (p.Authentication as { ConnectionArn?: string } | undefined)?.ConnectionArn,
          );
          add("events:RetrieveConnectionCredentials", connection);
          const id = /:connection\/([^/]+)\//.exec(connection)?.[1] ?? "unknown";
          const secret = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:events!connection/${id}-abc`;
          add("secretsmanager:GetSecretValue", secret);
          add("secretsmanager:DescribeSecret", secret);
          break;
        }
        default:
          add(`unknown:${String(s.Resource)}`, "*");
      }
    }
  };
  visit(definition.States as Record<string, AslNode>);
  return calls;
}

export type AslNode = Record<string, Json>;

/** The literal key template of a `States.Format('…{}…', …)` parameter, with `run-1` for the execution name. */
function keyTemplate(format: Json | undefined): string {
  const literal = /^States\.Format\('([^']*)'/.exec(String(format))?.[1];
  if (literal === undefined) throw new Error(`not a States.Format key template: ${String(format)}`);
  return literal.replace("{}", "run-1");
}

/**
 * What a Distributed Map asks of IAM: starting child executions of its own
 * machine and describing, stopping and redriving them, reading its items
 * (ListBucket with the listed prefix, or GetObject of the records file) and
 * writing its results (a map run's manifest).
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
 */
function distributedMapCalls(machine: string, state: string, map: AslNode, region: string): MachineCall[] {
  const calls: MachineCall[] = [];
  const add = (action: string, resource: string, context?: Request["context"]) =>
    calls.push({ machine, state, action, resource, ...(context ? { context } : {}) });
  add("states:StartExecution", `arn:aws:states:${region}:${ACCOUNT}:stateMachine:${machine}`);
  const child = `arn:aws:states:${region}:${ACCOUNT}:execution:${machine}/${String(map.Label)}:run-1`;
  for (const a of ["states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"])
    add(a, child);
  const reader = map.ItemReader as AslNode;
  const rp = reader.Parameters as AslNode;
  if (reader.Resource === "arn:aws:states:::s3:listObjectsV2")
    add("s3:ListBucket", `arn:aws:s3:::${String(rp.Bucket)}`, { "s3:prefix": keyTemplate(rp["Prefix.$"]) });
  else if (reader.Resource === "arn:aws:states:::s3:getObject")
    add("s3:GetObject", `arn:aws:s3:::${String(rp.Bucket)}/${keyTemplate(rp["Key.$"])}`);
  else add(`unknown:${String(reader.Resource)}`, "*");
  const wp = (map.ResultWriter as AslNode).Parameters as AslNode;
  const manifest = `arn:aws:s3:::${String(wp.Bucket)}/${keyTemplate(wp["Prefix.$"])}/map-run-1/manifest.json`;
  add("s3:PutObject", manifest);
  add("s3:GetObject", manifest);
  return calls;
}

/** The definition of state machine `logicalId` with its substitutions filled in. */
export function resolvedDefinition(
  template: AwsTemplate,
  resolver: TemplateResolver,
  logicalId: string,
): AslNode {
  const props = template.Resources[logicalId]!.Properties!;
  let text = String(resolver.resolve(props.DefinitionString));
  const subs = (resolver.resolve(props.DefinitionSubstitutions ?? {}) as Record<string, string>) ?? {};
  text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (all, slot: string) => subs[slot] ?? all);
  return JSON.parse(text) as AslNode;
}
