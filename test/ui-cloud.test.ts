/**
 * `ferry ui --target localstack` and `ferry logs <execution-arn>` against a
 * workflow deployed to LocalStack and run by a real edge agent, which
 * uploads each attempt's log under the contract's log key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/browser.ts";
import { requireLocalStack } from "./support/env.ts";
import { eventually, ferry, REPO_ROOT, startFerry } from "./support/ferry-cli.ts";
import {
  type Deployed,
  deploySpec,
  destroySpec,
  exampleProject,
  type FerryProcess,
  ferryEnv,
  runSuffix,
  startAgent,
  startAndWait,
  writeSpec,
} from "./support/localstack-ferry.ts";

const TOKEN = "ui-cloud-test-token-0123456789ab";
const suffix = runSuffix();
const { dir } = exampleProject(suffix);
const spec = writeSpec(
  dir,
  "ui-cloud.yaml",
  `version: "1.1"
name: ui-cloud-${suffix}
input:
  type: object
  properties:
    n: { type: integer }
sites:
  lab: { type: edge }
defaults:
  retry: { maxAttempts: 1 }
  timeoutSeconds: 60
steps:
  - name: fetch
    site: lab
    process: { command: ["sh", "-c", "echo 'fetched from the lab' >&2; echo '{\\"rows\\": 7}'"] }
  - name: boom
    depends: [fetch]
    site: lab
    process: { command: ["sh", "-c", "echo 'the cloud step broke' >&2; exit 4"] }
`,
);

let deployed: Deployed;
let agent: FerryProcess;
let executionArn: string;
let browser: Browser | undefined;
let ui: ReturnType<typeof startFerry> | undefined;
/** Where the ui the second test starts listens; the third uses it too. */
let base: string;

beforeAll(async () => {
  await requireLocalStack();
  deployed = await deploySpec(dir, spec);
  agent = await startAgent(dir, deployed.agentConfigs.lab!, { runtime: "process" });
  const result = await startAndWait(dir, spec, { input: { n: 1 }, timeoutSeconds: 120 });
  expect(result.code, result.stderr).toBe(1);
  executionArn = result.executionArn;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  ui?.kill("SIGTERM");
  await ui?.output;
  await agent?.stop("SIGTERM");
  await destroySpec(dir, spec);
}, 300_000);

describe("cloud executions in ferry logs and ferry ui", () => {
  it("prints the attempt log the agent uploaded under <workflow>/<site>/<execution>/.ferry/logs/<step>/<attempt>.log", async () => {
    const executionName = executionArn.split(":").at(-1)!;
    const result = await ferry(["logs", executionArn, "boom"], { cwd: dir, env: ferryEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`==> ui-cloud-${suffix}/lab/${executionName}/.ferry/logs/boom/1.log <==`);
    expect(result.stdout).toContain("the cloud step broke");
    expect(result.stdout).toContain("exit 4");
    const all = await ferry(["logs", executionArn], { cwd: dir, env: ferryEnv() });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain("fetched from the lab");
  });

  it("lists the execution, draws its steps from the history and the state index, and opens the failed step's log", async () => {
    ui = startFerry(["ui", "--port", "0", "--target", "localstack"], {
      cwd: dir,
      env: ferryEnv({ FERRY_UI_TOKEN: TOKEN }),
    });
    let printed = "";
    ui.stdout!.on("data", (chunk: Buffer) => {
      printed += chunk.toString();
    });
    // A loaded machine takes a while to start tsx and bundle the page.
    base = await eventually(() => /serving \S+ on (\S+)/.exec(printed)?.[1], "ferry ui to listen", 120_000);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${base}/login?token=${TOKEN}`);
    await page.goto(`${base}/?workflow=${deployed.workflow}`);
    const link = page.getByRole("link", { name: executionArn.split(":").at(-1)! });
    await link.waitFor({ timeout: 60_000 });
    await link.click();
    await page.locator('[data-step="fetch"][data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-step="boom"][data-status="FAILED"]').waitFor();
    await page.locator("h1 .badge", { hasText: "FAILED" }).waitFor();
    await page.locator('[data-step="boom"]').click();
    const panel = page.getByRole("complementary", { name: "Step boom" });
    await panel.locator(".log pre", { hasText: "the cloud step broke" }).waitFor({ timeout: 30_000 });
    // Each attempt from GetExecutionHistory: the step message's input, the answer, the error and cause.
    await panel.getByRole("table", { name: "Attempts" }).getByText("Ferry.ExitCode").waitFor();
    await expect(panel.locator(".json").first().textContent()).resolves.toContain('"rows": 7');
    await page.locator('[data-step="fetch"]').click();
    const fetchPanel = page.getByRole("complementary", { name: "Step fetch" });
    await expect(
      fetchPanel.locator("details", { hasText: "Input" }).locator(".json").textContent(),
    ).resolves.toContain('"n": 1');
    await expect(
      fetchPanel.locator("details", { hasText: "Output" }).locator(".json").textContent(),
    ).resolves.toContain('"rows": 7');
    await expect(
      fetchPanel.getByRole("table", { name: "Attempts" }).getByText("succeeded").count(),
    ).resolves.toBe(1);
    await page.locator('[data-step="boom"]').click();
    // Redrive is ferry redrive's code: LocalStack 4.14 has no RedriveExecution, and the page says so.
    await page.getByRole("button", { name: "Redrive (restart what did not succeed)" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: "redrive failed: " })
      .filter({ hasText: "does not implement RedriveExecution" })
      .waitFor({ timeout: 30_000 });
    const audit = readFileSync(join(dir, ".ferry", "ui-audit.ndjson"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(audit.at(-1)!)).toMatchObject({
      action: "redrive",
      target: executionArn,
      result: "error",
    });
    // The edge comes from the step list ferry deploy stored beside the state index.
    expect(await page.locator(".dag .edge").count()).toBe(1);
    await page.screenshot({
      path: join(REPO_ROOT, ".ferry", "test-env", "ui-cloud-run-page.png"),
      fullPage: true,
    });
  });

  it("starts an execution from the page with ferry start's code, after checking the input against the schema", async () => {
    const page = await browser!.newPage();
    await page.goto(`${base}/login?token=${TOKEN}`);
    await page.getByText("Start a workflow").click();
    await page.getByLabel("Spec").selectOption("ui-cloud.yaml");
    await page.getByLabel("Where").selectOption("cloud");
    await page.getByLabel("Input (JSON)").fill('{"n": "two"}');
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "Not started" }).getByText("must be integer").waitFor();
    await page.getByLabel("Input (JSON)").fill('{"n": 2}');
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/runs/arn"), { timeout: 60_000 });
    const started = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
    expect(started).toMatch(/^arn:aws:states:.*:execution:.*:/);
    await page.locator('[data-step="boom"][data-status="FAILED"]').waitFor({ timeout: 120_000 });
    await page.locator('[data-step="fetch"]').click();
    const fetchPanel = page.getByRole("complementary", { name: "Step fetch" });
    await expect(
      fetchPanel.locator("details", { hasText: "Input" }).locator(".json").textContent(),
    ).resolves.toContain('"n": 2');
    const audit = readFileSync(join(dir, ".ferry", "ui-audit.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.slice(-2)).toMatchObject([
      { action: "start", target: "cloud:ui-cloud.yaml", result: "error" },
      { action: "start", target: "cloud:ui-cloud.yaml", result: "ok", detail: started },
    ]);
  }, 300_000);
});
