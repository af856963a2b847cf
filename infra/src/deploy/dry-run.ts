import { existsSync, readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { CloudFormationClient, GetTemplateCommand } from "@aws-sdk/client-cloudformation";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import type { CfnTemplate } from "./localstack-template.ts";

/** What `ferry deploy --dry-run` compares against. */
export interface DryRunBaseline {
  /** Where the baseline came from, e.g. `the deployed stack ferry-hello` or `the previous compile`. */
  source: string;
  template: CfnTemplate;
}

export interface ResourceChange {
  logicalId: string;
  type: string;
  change: "add" | "change" | "remove";
  /** Top-level properties that differ, for `change`. */
  properties?: string[];
}

/**
 * The resources to add, change or remove going from `before` to `after`,
 * by logical id (what CloudFormation itself compares), sorted by id.
 */
export function diffTemplates(before: CfnTemplate | undefined, after: CfnTemplate): ResourceChange[] {
  const old = before?.Resources ?? {};
  const changes: ResourceChange[] = [];
  for (const [logicalId, resource] of Object.entries(after.Resources)) {
    const previous = old[logicalId];
    if (!previous) {
      changes.push({ logicalId, type: resource.Type, change: "add" });
    } else if (previous.Type !== resource.Type) {
      changes.push({ logicalId, type: resource.Type, change: "change", properties: ["Type"] });
    } else if (!isDeepStrictEqual(previous.Properties ?? {}, resource.Properties ?? {})) {
      const keys = new Set([
        ...Object.keys(previous.Properties ?? {}),
        ...Object.keys(resource.Properties ?? {}),
      ]);
      const properties = [...keys].filter(
        (k) => !isDeepStrictEqual(previous.Properties?.[k], resource.Properties?.[k]),
      );
      changes.push({ logicalId, type: resource.Type, change: "change", properties: properties.sort() });
    }
  }
  for (const [logicalId, resource] of Object.entries(old)) {
    if (!after.Resources[logicalId]) changes.push({ logicalId, type: resource.Type, change: "remove" });
  }
  return changes.sort((a, b) => (a.logicalId < b.logicalId ? -1 : a.logicalId > b.logicalId ? 1 : 0));
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: unknown;
}

/**
 * The IAM statements of the template per principal: each managed policy
 * (worker policies, attached by you to agents' roles) and each role with
 * the inline policies attached to it (state machines, Lambda functions,
 * Fargate tasks). Values only known at deploy time print as `<LogicalId>`
 * and `<LogicalId.Attribute>`.
 */
export function iamStatements(template: CfnTemplate): Array<{ principal: string; statements: string[] }> {
  const byPrincipal = new Map<string, string[]>();
  const add = (principal: string, doc: unknown) => {
    const statements = ((doc as { Statement?: Statement[] } | undefined)?.Statement ?? []).map(
      formatStatement,
    );
    byPrincipal.set(principal, [...(byPrincipal.get(principal) ?? []), ...statements]);
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === "AWS::IAM::ManagedPolicy") add(`managed policy ${id}`, r.Properties?.PolicyDocument);
    if (r.Type === "AWS::IAM::Policy") {
      const roles = ((r.Properties?.Roles as unknown[]) ?? []).map(render);
      for (const role of roles) add(`role ${role.replace(/^<|>$/g, "")}`, r.Properties?.PolicyDocument);
    }
    if (r.Type === "AWS::IAM::Role") {
      for (const p of (r.Properties?.Policies as Array<{ PolicyDocument: unknown }>) ?? []) {
        add(`role ${id}`, p.PolicyDocument);
      }
    }
  }
  return [...byPrincipal]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([principal, statements]) => ({ principal, statements }));
}

function formatStatement(s: Statement): string {
  const actions = (Array.isArray(s.Action) ? s.Action : [s.Action]).join(", ");
  const resources = (Array.isArray(s.Resource) ? s.Resource : [s.Resource ?? "*"]).map(render).join(", ");
  const sid = s.Sid ? `${s.Sid}: ` : "";
  const condition = s.Condition ? ` when ${render(s.Condition)}` : "";
  return `${sid}${s.Effect} ${actions} on ${resources}${condition}`;
}

/** A template value with intrinsics flattened, like cdk-nag prints them. */
export function render(node: unknown): string {
  if (typeof node === "string") return node;
  if (Array.isArray(node)) return `[${node.map(render).join(", ")}]`;
  if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (typeof o.Ref === "string") return `<${o.Ref}>`;
    if (Array.isArray(o["Fn::GetAtt"])) return `<${(o["Fn::GetAtt"] as string[]).join(".")}>`;
    if (Array.isArray(o["Fn::Join"])) {
      const [sep, items] = o["Fn::Join"] as [string, unknown[]];
      return items.map(render).join(sep);
    }
    if (o["Fn::Sub"] !== undefined)
      return render(Array.isArray(o["Fn::Sub"]) ? o["Fn::Sub"][0] : o["Fn::Sub"]);
    return `{${Object.entries(o)
      .map(([k, v]) => `${k}: ${render(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(node);
}

/** The dry run's report: changes against the baseline, then IAM per principal. */
export function formatDryRun(
  stackName: string,
  after: CfnTemplate,
  baseline: DryRunBaseline | undefined,
): string {
  const changes = diffTemplates(baseline?.template, after);
  const count = (c: ResourceChange["change"]) => changes.filter((x) => x.change === c).length;
  const lines = [
    `stack ${stackName}: ${count("add")} to add, ${count("change")} to change, ${count("remove")} to remove (against ${baseline?.source ?? "nothing: no previous compile or deployed stack"})`,
  ];
  const sign = { add: "+", change: "~", remove: "-" } as const;
  for (const c of changes) {
    lines.push(
      `  ${sign[c.change]} ${c.logicalId} (${c.type})${c.properties ? ` ${c.properties.join(", ")}` : ""}`,
    );
  }
  lines.push("", "IAM statements per principal:");
  for (const { principal, statements } of iamStatements(after)) {
    lines.push(`  ${principal}`);
    for (const s of statements) lines.push(`    ${s}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The baseline of a dry run: the deployed stack's template when it can be
 * read (unless `offline`), else the previous compile's template in the
 * cloud assembly directory, else none.
 */
export async function dryRunBaseline(options: {
  stackName: string;
  previousTemplatePath: string;
  context: AwsContext;
  offline: boolean;
}): Promise<DryRunBaseline | undefined> {
  if (!options.offline) {
    const cfn = new CloudFormationClient({ ...clientConfig(options.context), maxAttempts: 1 });
    try {
      const out = await cfn.send(
        new GetTemplateCommand({ StackName: options.stackName, TemplateStage: "Original" }),
        { abortSignal: AbortSignal.timeout(10_000) },
      );
      if (out.TemplateBody) {
        return {
          source: `the deployed stack ${options.stackName}`,
          template: JSON.parse(out.TemplateBody) as CfnTemplate,
        };
      }
    } catch (error) {
      // Not deployed, or AWS unreachable: the previous compile is the next best baseline.
      void error;
    } finally {
      cfn.destroy();
    }
  }
  if (!existsSync(options.previousTemplatePath)) return undefined;
  return {
    source: "the previous compile",
    template: JSON.parse(readFileSync(options.previousTemplatePath, "utf8")) as CfnTemplate,
  };
}
