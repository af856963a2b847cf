import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { diffTemplates, formatDryRun, iamStatements } from "./dry-run.ts";
import type { CfnTemplate } from "./localstack-template.ts";
import { synthesizeStack } from "./synthesize-stack.ts";

// Golden files: examples/<name>/deploy-dry-run.txt is what `ferry deploy <spec> --dry-run --offline`
// prints on a fresh checkout. Regenerate with UPDATE_GOLDEN=1 after a deliberate change and review the diff.
const repo = join(import.meta.dirname, "..", "..", "..");
const update = process.env.UPDATE_GOLDEN === "1";

async function synth(example: string): Promise<{ stackName: string; template: CfnTemplate }> {
  const { compiled } = await compileSpecFile(join(repo, "examples", example, "workflow.yaml"));
  const region = Object.values(compiled!.ir.sites).find((s) => s.type === "aws")?.region ?? "us-east-1";
  const out = synthesizeStack(compiled!, {
    outDir: mkdtempSync(join(tmpdir(), "ferry-dry-run-")),
    projectRoot: repo,
    target: "aws",
    region,
  });
  return { stackName: out.stackName, template: JSON.parse(readFileSync(out.templatePath, "utf8")) };
}

describe("ferry deploy --dry-run golden output", () => {
  const examples = readdirSync(join(repo, "examples"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const example of examples) {
    it(example, async () => {
      const { stackName, template } = await synth(example);
      const actual = formatDryRun(stackName, template, undefined);
      const file = join(repo, "examples", example, "deploy-dry-run.txt");
      if (update || !existsSync(file)) writeFileSync(file, actual);
      expect(actual).toBe(readFileSync(file, "utf8"));
    });
  }
});

describe("diffTemplates", () => {
  it("given an earlier template, then it lists what is added, changed (with the properties) and removed", async () => {
    const { template } = await synth("hello");
    const before = structuredClone(template);
    const [queueId] = Object.entries(before.Resources).find(([, r]) => r.Type === "AWS::SQS::Queue")!;
    before.Resources[queueId]!.Properties = {
      ...before.Resources[queueId]!.Properties,
      VisibilityTimeout: 1,
    };
    before.Resources.OldTopic = { Type: "AWS::SNS::Topic", Properties: {} };
    const [addedId] = Object.entries(template.Resources).find(
      ([, r]) => r.Type === "AWS::IAM::ManagedPolicy",
    )!;
    delete before.Resources[addedId];
    expect(diffTemplates(before, template)).toEqual([
      { logicalId: "OldTopic", type: "AWS::SNS::Topic", change: "remove" },
      ...[
        { logicalId: queueId, type: "AWS::SQS::Queue", change: "change", properties: ["VisibilityTimeout"] },
        { logicalId: addedId, type: "AWS::IAM::ManagedPolicy", change: "add" },
      ].sort((a, b) => (a.logicalId < b.logicalId ? -1 : 1)),
    ]);
    expect(diffTemplates(template, template)).toEqual([]);
  });

  it("names every principal with its statements", async () => {
    const { template } = await synth("edge-to-cloud");
    const principals = iamStatements(template).map((p) => p.principal);
    expect(principals.filter((p) => p.startsWith("managed policy"))).toHaveLength(2);
    expect(principals.some((p) => /StateMachineRole/.test(p))).toBe(true);
  });
});
