import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import axe from "axe-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/browser.ts";
import { eventually, REPO_ROOT, startFerry, tempProject } from "./support/ferry-cli.ts";

const TOKEN = "ui-browser-test-token-0123456789";
/** Kept after the run (.ferry is ignored by git): what the run page looked like. */
const SCREENSHOT = join(REPO_ROOT, ".ferry", "test-env", "ui-run-page.png");

// fetch runs until the test drops go.flag, so the page sees it running, then turn green live;
// flaky fails until the test drops ok.flag
// (after transform: a failure ends the run, which would cancel a sibling still running).
const DEMO = `name: ui-demo
description: Three process steps; one fails until ok.flag exists.
sites:
  laptop: { type: edge, labels: { arch: amd64 } }
defaults:
  retry: { maxAttempts: 1 }
steps:
  - name: fetch
    site: laptop
    hints: { durationSeconds: 3 }
    process: { command: ["sh", "-c", "echo fetching >&2; until [ -f go.flag ]; do sleep 0.1; done; echo '{\\"rows\\": 42}'"] }
  - name: transform
    depends: [fetch]
    site: laptop
    process: { command: ["sh", "-c", "echo '{\\"ok\\": true}'"] }
  - name: flaky
    depends: [transform]
    site: laptop
    process:
      command: ["sh", "-c", "if [ -f ok.flag ]; then echo '{}'; else echo 'disk on fire' >&2; exit 3; fi"]
`;
const TOPOLOGY = `name: one-laptop
sites:
  laptop:
    type: edge
    devices:
      - { name: laptop, count: 1, slots: 4, speed: 1 }
`;
const SLOW = `name: ui-slow
sites:
  laptop: { type: edge, labels: { arch: amd64 } }
steps:
  - name: wait
    site: laptop
    process: { command: ["sleep", "120"] }
`;

const DATED = `version: "1.1"
name: ui-dated
sites:
  laptop: { type: edge, labels: { arch: amd64 } }
input:
  type: object
  required: [date]
  additionalProperties: false
  properties:
    date: { type: string, format: date }
steps:
  - name: report
    site: laptop
    process: { command: ["sh", "-c", "echo '{\\"done\\": true}'"] }
`;

/** Runs whose record is written (the folder comes a moment before run.json). */
function runIds(project: string): string[] {
  const dir = join(project, ".ferry", "runs");
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((id) => existsSync(join(dir, id, "run.json")))
        .sort()
    : [];
}

describe("ferry ui in headless Chromium", () => {
  let project: string;
  let ui: ReturnType<typeof startFerry>;
  let base: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    project = tempProject();
    writeFileSync(join(project, "ui-demo.yaml"), DEMO);
    writeFileSync(join(project, "ui-slow.yaml"), SLOW);
    writeFileSync(join(project, "ui-dated.yaml"), DATED);
    writeFileSync(join(project, "laptop.topology.yaml"), TOPOLOGY);
    ui = startFerry(["ui", "--port", "0", "--topology", "laptop.topology.yaml"], {
      cwd: project,
      env: { FERRY_UI_TOKEN: TOKEN },
    });
    let printed = "";
    ui.stdout!.on("data", (chunk: Buffer) => {
      printed += chunk.toString();
    });
    base = await eventually(() => /serving \S+ on (\S+)/.exec(printed)?.[1], "ferry ui to listen");
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    ui?.kill("SIGTERM");
    await ui?.output;
  });

  it("refuses the API without a session (401) and an action without the CSRF header (403)", async () => {
    const anonymous = await browser.newContext();
    expect((await anonymous.request.get(`${base}/api/runs`)).status()).toBe(401);
    expect((await anonymous.request.get(`${base}/login?token=wrong-token`)).status()).toBe(401);
    const anonPage = await anonymous.newPage();
    await anonPage.goto(base);
    await anonPage.getByText("Not logged in").waitFor();
    // Logged in, but a POST without the page's CSRF header is refused.
    await anonPage.goto(`${base}/login?token=${TOKEN}`);
    const status = await anonPage.evaluate(
      async () => (await fetch("/api/runs/x/cancel", { method: "POST" })).status,
    );
    expect(status).toBe(403);
    await anonymous.close();
  });

  it("logs in, watches a live run turn green, reads a failed step's log, and retries it", async () => {
    await page.goto(`${base}/login?token=${TOKEN}`);
    expect(new URL(page.url()).pathname).toBe("/");
    expect(page.url()).not.toContain(TOKEN);
    await page.getByRole("heading", { name: "Runs" }).waitFor();

    const run = startFerry(["run", "ui-demo.yaml"], { cwd: project });
    const runId = await eventually(() => runIds(project)[0], "the run to be recorded");
    await page.goto(`${base}/runs/${runId}`);
    await page.locator('[data-step="fetch"][data-status="RUNNING"]').waitFor();
    writeFileSync(join(project, "go.flag"), "");
    await page.locator('[data-step="fetch"][data-status="SUCCEEDED"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-step="transform"][data-status="SUCCEEDED"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-step="flaky"][data-status="FAILED"]').waitFor({ timeout: 30_000 });
    expect((await run.output).code).toBe(1);
    await page.locator("h1 .badge", { hasText: "FAILED" }).waitFor();

    // The simulator's prediction for the spec on the topology, beside the measured bars.
    await page
      .locator(".gantt-figure figcaption", { hasText: "predicted by the simulator on one-laptop" })
      .waitFor();
    expect(await page.locator(".gantt rect.predicted").count()).toBe(3);

    await page.locator('[data-step="flaky"]').click();
    const panel = page.getByRole("complementary", { name: "Step flaky" });
    await panel.locator(".log pre", { hasText: "disk on fire" }).waitFor();
    await expect(panel.getByText("Ferry.ExitCode").first().isVisible()).resolves.toBe(true);
    mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.evaluate(axe.source);
    // Runs in the page, where axe-core's script put `axe` on the global object.
    const results = await page.evaluate(() => {
      const page = globalThis as unknown as { axe: typeof axe; document: axe.ElementContext };
      return page.axe.run(page.document, { resultTypes: ["violations"] });
    });
    const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`)).toEqual([]);

    writeFileSync(join(project, "ok.flag"), "");
    await panel.getByRole("button", { name: "Retry this step (resume the run)" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/runs/") && !url.pathname.endsWith(runId));
    const resumedId = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
    await page.locator('[data-step="flaky"][data-status="SUCCEEDED"]').waitFor({ timeout: 30_000 });
    await page.locator("h1 .badge", { hasText: "SUCCEEDED" }).waitFor({ timeout: 30_000 });
    const resumed = JSON.parse(readFileSync(join(project, ".ferry", "runs", resumedId, "run.json"), "utf8"));
    expect(resumed).toMatchObject({ status: "SUCCEEDED", resumedFrom: runId });
    const audit = readFileSync(join(project, ".ferry", "ui-audit.ndjson"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(audit.at(-1)!)).toMatchObject({
      action: "resume",
      target: runId,
      result: "ok",
      detail: resumedId,
    });
  });

  it("cancels a running local run from its page, as ferry stop does", async () => {
    const before = new Set(runIds(project));
    const run = startFerry(["run", "ui-slow.yaml"], { cwd: project });
    const runId = await eventually(() => runIds(project).find((id) => !before.has(id)), "the slow run");
    await page.goto(`${base}/runs/${runId}`);
    await page.locator('[data-step="wait"][data-status="RUNNING"]').waitFor();
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator("h1 .badge", { hasText: "CANCELLED" }).waitFor({ timeout: 30_000 });
    expect((await run.output).code).toBe(130);
  });

  it("starts a workflow from the page: input that fails the spec's schema shows its errors and starts nothing", async () => {
    await page.goto(`${base}/login?token=${TOKEN}`);
    await page.getByText("Start a workflow").click();
    await page.getByLabel("Spec").selectOption("ui-dated.yaml");
    const before = new Set(runIds(project));
    await page.getByLabel("Input (JSON)").fill('{"date": "last tuesday", "colour": "red"}');
    await page.getByRole("button", { name: "Start", exact: true }).click();
    const refusal = page.getByRole("alert").filter({ hasText: "Not started" });
    await refusal.getByText('must match format "date"').waitFor();
    await expect(refusal.locator("li code").allTextContents()).resolves.toEqual(
      expect.arrayContaining(["input.date", "input.colour"]),
    );
    expect(runIds(project).filter((id) => !before.has(id))).toEqual([]);

    // The form with its errors shown is accessible too.
    await page.evaluate(axe.source);
    const results = await page.evaluate(() => {
      const page = globalThis as unknown as { axe: typeof axe; document: axe.ElementContext };
      return page.axe.run(page.document, { resultTypes: ["violations"] });
    });
    const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`)).toEqual([]);

    await page.getByLabel("Input (JSON)").fill('{"date": "2026-12-03"}');
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/runs/"));
    const runId = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
    expect(before.has(runId)).toBe(false);
    await page.locator("h1 .badge", { hasText: "SUCCEEDED" }).waitFor({ timeout: 60_000 });
    const record = JSON.parse(readFileSync(join(project, ".ferry", "runs", runId, "run.json"), "utf8"));
    expect(record).toMatchObject({
      workflow: "ui-dated",
      status: "SUCCEEDED",
      input: { date: "2026-12-03" },
    });
    const audit = readFileSync(join(project, ".ferry", "ui-audit.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.slice(-2)).toMatchObject([
      { action: "start", target: "local:ui-dated.yaml", result: "error" },
      { action: "start", target: "local:ui-dated.yaml", result: "ok", detail: runId },
    ]);
  });
});
