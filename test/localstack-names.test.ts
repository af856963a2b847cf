/**
 * Two workflows with the same name in one account and region: the second
 * deploy from another project is refused with a clear error and leaves the
 * first one's stack alone; `--take-over` replaces it on purpose.
 */
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack } from "./support/env.ts";
import { ferry, tempProject } from "./support/ferry-cli.ts";
import { destroySpec, ferryEnv, runSuffix, writeSpec } from "./support/localstack-ferry.ts";

const suffix = runSuffix();
const name = `same-${suffix}`;
const spec = (command: string) =>
  JSON.stringify({
    name,
    sites: { lab: { type: "edge" } },
    steps: [{ name: "only", site: "lab", process: { command: ["echo", command] } }],
  });
const first = tempProject();
const second = tempProject();
const firstSpec = writeSpec(first, "workflow.json", spec("{}"));
const secondSpec = writeSpec(second, "workflow.json", spec('{"other":true}'));

async function originTag(): Promise<string | undefined> {
  const cfn = new CloudFormationClient(awsClientConfig());
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: `ferry-${name}` }));
    return out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === "FerryOrigin")?.OutputValue;
  } finally {
    cfn.destroy();
  }
}

const deploy = (dir: string, file: string, extra: string[] = []) =>
  ferry(["deploy", file, "--target", "localstack", ...extra], { cwd: dir, env: ferryEnv() });

beforeAll(async () => {
  await requireLocalStack();
}, 60_000);

afterAll(async () => {
  await destroySpec(first, firstSpec);
}, 300_000);

describe("one workflow name, two projects", () => {
  it("records in the stack the spec it came from", async () => {
    const result = await deploy(first, firstSpec);
    expect(result.code, result.stderr).toBe(0);
    expect(await originTag()).toMatch(/\/workflow\.json$/);
  });

  it("refuses the second project's deploy and leaves the first stack as it was", async () => {
    const before = await originTag();
    const result = await deploy(second, secondSpec);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(`stack ferry-${name} in us-east-1 already holds workflow "${name}" deployed from`),
    );
    expect(result.stderr).toMatch(/--take-over/);
    expect(await originTag()).toBe(before);
    const again = await deploy(first, firstSpec);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`unchanged stack ferry-${name}`));
  });

  it("replaces it with --take-over", async () => {
    const before = await originTag();
    const result = await deploy(second, secondSpec, ["--take-over"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`updated stack ferry-${name}`));
    const after = await originTag();
    expect(after).not.toBe(before);
    expect(after).toMatch(/\/workflow\.json$/);
  });
});
