import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAssemblyFunctions } from "./assembly-functions.ts";

const HASH = "ab".repeat(32);

/** A cloud assembly as `ferry compile --out` writes it: manifest, template, asset manifest, asset folder. */
function assembly(mapping: Record<string, unknown> = { BatchSize: 5, MaximumBatchingWindowInSeconds: 2 }) {
  const out = mkdtempSync(join(tmpdir(), "ferry-assembly-"));
  const dir = join(out, "cdk.out");
  mkdirSync(join(dir, `asset.${HASH}`), { recursive: true });
  writeFileSync(join(dir, `asset.${HASH}`, "index.mjs"), "export const handler = () => null;\n");
  writeFileSync(join(out, "manifest.json"), JSON.stringify({ manifestVersion: 1, steps: {} }));
  const json = (name: string, value: unknown) => writeFileSync(join(dir, name), JSON.stringify(value));
  json("manifest.json", {
    artifacts: {
      "ferry-hello.assets": { type: "cdk:asset-manifest", properties: { file: "ferry-hello.assets.json" } },
      "ferry-hello": {
        type: "aws:cloudformation:stack",
        properties: { templateFile: "ferry-hello.template.json" },
      },
    },
  });
  json("ferry-hello.assets.json", {
    files: {
      [HASH]: {
        source: { path: `asset.${HASH}`, packaging: "zip" },
        destinations: { "current_account-us-east-1": { objectKey: `${HASH}.zip` } },
      },
    },
  });
  json("ferry-hello.template.json", {
    Resources: {
      Fn: {
        Type: "AWS::Lambda::Function",
        Properties: {
          Code: { S3Bucket: "cdk-assets", S3Key: `${HASH}.zip` },
          Handler: "index.handler",
          Runtime: "nodejs24.x",
          Timeout: 45,
          MemorySize: 256,
          Environment: {
            Variables: {
              FERRY_WORKFLOW: "hello",
              FERRY_STEP: "summarize",
              FERRY_JOB_BUCKET: { Ref: "Bucket" },
            },
          },
        },
      },
      Custom: { Type: "AWS::Lambda::Function", Properties: { Handler: "index.handler" } },
      Mapping: {
        Type: "AWS::Lambda::EventSourceMapping",
        Properties: {
          FunctionName: { Ref: "Fn" },
          FunctionResponseTypes: ["ReportBatchItemFailures"],
          ...mapping,
        },
      },
    },
  });
  return { out, dir };
}

describe("readAssemblyFunctions", () => {
  it("given a ferry compile folder, when read, then each step function has its asset folder, limits and mapping", () => {
    const { out, dir } = assembly();
    const read = readAssemblyFunctions(out);
    expect(read.stackName).toBe("ferry-hello");
    expect(read.functions).toEqual([
      {
        logicalId: "Fn",
        workflow: "hello",
        step: "summarize",
        assetDir: join(dir, `asset.${HASH}`),
        moduleFile: join(dir, `asset.${HASH}`, "index.mjs"),
        exportName: "handler",
        runtime: "nodejs24.x",
        timeoutSeconds: 45,
        memoryMiB: 256,
        environment: {
          FERRY_WORKFLOW: "hello",
          FERRY_STEP: "summarize",
          FERRY_JOB_BUCKET: { Ref: "Bucket" },
        },
        batchSize: 5,
        batchWindowSeconds: 2,
        reportBatchItemFailures: true,
      },
    ]);
  });

  it("given a mapping without batch settings, when read, then Lambda's defaults apply", () => {
    const { dir } = assembly({});
    expect(readAssemblyFunctions(dir).functions[0]).toMatchObject({ batchSize: 10, batchWindowSeconds: 0 });
  });

  it("given a folder with no assembly, when read, then the error says how to make one", () => {
    expect(() => readAssemblyFunctions(mkdtempSync(join(tmpdir(), "ferry-empty-")))).toThrow(
      /no cloud assembly here.*ferry compile/,
    );
  });
});
