import { readdirSync } from "node:fs";
import { join } from "node:path";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { compileYaml, MIXED_SPEC, PROJECT_ROOT, synthStack } from "./testing.ts";

const examples = readdirSync(join(PROJECT_ROOT, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** Unacknowledged findings as `rule at path`; errors and warnings alike must be zero. */
function findings(stack: Parameters<AwsSolutionsChecks["validateScope"]>[0]): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
    );
}

describe("cdk-nag AwsSolutions", () => {
  it.each(["aws", "localstack"] as const)(
    "finds nothing unacknowledged in the mixed workflow (%s)",
    (target) => {
      expect(findings(synthStack(compileYaml(MIXED_SPEC), { target }).stack)).toEqual([]);
    },
  );

  it("finds nothing unacknowledged in a workflow with triggers", () => {
    const triggered = compileYaml(`
version: "1.1"
name: triggered
sites: { lab: { type: edge } }
steps: [{ name: a, site: lab, process: { command: ["true"] } }]
triggers:
  - { schedule: "rate(1 hour)", input: { kind: tick } }
  - { s3: { prefix: incoming/ }, input: { key: "$.detail.object.key" } }
  - { event: { source: [shop.orders] } }
`);
    expect(findings(synthStack(triggered).stack)).toEqual([]);
  });

  it.each(examples)("finds nothing unacknowledged in examples/%s", async (name) => {
    const { compiled, diagnostics } = await compileSpecFile(
      join(PROJECT_ROOT, "examples", name, "workflow.yaml"),
    );
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(findings(synthStack(compiled!).stack)).toEqual([]);
  });

  it("does report a finding when one exists (the check is not vacuous)", async () => {
    const s3 = await import("aws-cdk-lib/aws-s3");
    const { stack } = synthStack(compileYaml(MIXED_SPEC));
    new s3.Bucket(stack, "Unsafe");
    expect(findings(stack)).toEqual(
      expect.arrayContaining(["error AwsSolutions-S10 at ferry-mixed/Unsafe/Resource"]),
    );
  });
});
