import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSpecFile } from "@ferry/dsl-compiler";
import { afterAll, describe, expect, it } from "vitest";
import { synthesizeWorkflow } from "./synth.ts";
import { PROJECT_ROOT } from "./testing.ts";

describe("synthesizeWorkflow", () => {
  const outDir = mkdtempSync(join(tmpdir(), "ferry-synth-test-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("writes a cloud assembly for examples/hello that passes CDK's CloudFormation validation and cdk-nag", async () => {
    const { compiled } = await compileSpecFile(join(PROJECT_ROOT, "examples/hello/workflow.yaml"));
    const result = await synthesizeWorkflow(compiled!, { outDir, projectRoot: PROJECT_ROOT });
    expect(result).toEqual({
      assemblyDir: outDir,
      stackName: "ferry-hello",
      templatePath: join(outDir, "ferry-hello.template.json"),
    });
    const template = JSON.parse(readFileSync(result.templatePath, "utf8")) as {
      Resources: Record<string, { Type: string }>;
    };
    expect(
      Object.values(template.Resources).filter((r) => r.Type === "AWS::StepFunctions::StateMachine"),
    ).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(outDir, "validation-report.json"), "utf8")) as {
      pluginReports: Array<{ violations?: unknown[] }>;
    };
    expect(report.pluginReports.flatMap((p) => p.violations ?? [])).toEqual([]);
    expect(existsSync(join(outDir, "manifest.json"))).toBe(true);
  });
});
