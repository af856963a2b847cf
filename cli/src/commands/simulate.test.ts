import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "@ferry/simulator/testing";
import { describe, expect, it } from "vitest";
import { UsageError } from "../command.ts";
import { recordingIo } from "../testing-io.ts";
import { simulateCommand } from "./simulate.ts";

const testIo = (cwd: string = REPO_ROOT) => recordingIo(cwd);

const SPEC = "simulator/examples/pi-cluster.workflow.yaml";
const TOPOLOGY = "simulator/examples/pi-cluster.topology.yaml";

describe("ferry simulate", () => {
  it("Given the example, Then it prints the report and exits 0", async () => {
    const io = testIo();
    expect(await simulateCommand.run([SPEC, "--topology", TOPOLOGY, "--runs", "20"], io)).toBe(0);
    expect(io.err).toBe("");
    expect(io.out).toContain("Simulated pi-camera on pi-lab-and-aws: 20 runs, seed 1");
    expect(io.out).toMatch(/critical path {2}.*capture → tile → detect → summarise → notify/);
    expect(io.out).toMatch(/lab → cloud\s+3\.00 MB/);
  });

  it("Given --json, Then stdout is one JSON document with the report", async () => {
    const io = testIo();
    expect(
      await simulateCommand.run([SPEC, "-t", TOPOLOGY, "--runs", "10", "--seed", "4", "--json"], io),
    ).toBe(0);
    const parsed = JSON.parse(io.out);
    expect(parsed.report).toMatchObject({
      workflow: "pi-camera",
      runs: 10,
      seed: 4,
      outcomes: { succeeded: 10 },
    });
    expect(parsed.report.trace).toBeUndefined();
    expect(parsed.diagnostics).toEqual([]);
  });

  it("Given --gantt out.html and out.svg, Then both files are written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-sim-"));
    for (const file of ["chart.html", "sub/chart.svg"]) {
      const io = testIo();
      expect(
        await simulateCommand.run([SPEC, "-t", TOPOLOGY, "--runs", "5", "--gantt", join(dir, file)], io),
      ).toBe(0);
      expect(existsSync(join(dir, file))).toBe(true);
    }
    expect(readFileSync(join(dir, "chart.html"), "utf8")).toContain("<svg");
    expect(readFileSync(join(dir, "sub/chart.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("Given --optimize, Then it prints the best placement after the report", async () => {
    const io = testIo();
    expect(
      await simulateCommand.run(
        [SPEC, "-t", TOPOLOGY, "--runs", "5", "--optimize", "--max-evaluations", "40"],
        io,
      ),
    ).toBe(0);
    expect(io.out).toMatch(
      /Placement search for lowest makespan: \d+ placements simulated, 3 movable steps, 2 fixed/,
    );
    expect(io.out).toMatch(/detect\s+lab\s+cloud/);
  });

  it("Given a run record, Then --calibrate takes its durations and compares the measured run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-run-"));
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString();
    const steps = [
      ["capture", 0, 10],
      ["tile", 10.2, 30],
      ["detect", 30.2, 70],
      ["summarise", 70.2, 72],
      ["notify", 72.2, 72.5],
    ].map(([name, s, e]) => ({
      name,
      site: "lab",
      status: "succeeded",
      attempts: 1,
      startedAt: at(s as number),
      finishedAt: at(e as number),
    }));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ steps }));
    const io = testIo();
    expect(await simulateCommand.run([SPEC, "-t", TOPOLOGY, "--runs", "5", "--calibrate", dir], io)).toBe(0);
    expect(io.out).toMatch(/calibration {4}5 step durations from .*run\.json; that run took 72\.5 s/);
    expect(io.out).toContain("its dispatch gap was 0.20 s");
  });

  it("Given a topology with errors, Then it prints positioned diagnostics and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-topo-"));
    writeFileSync(join(dir, "bad.yaml"), "sites:\n  lab:\n    type: edge\n    devices: [{ slotz: 2 }]\n");
    const io = testIo();
    expect(await simulateCommand.run([SPEC, "-t", join(dir, "bad.yaml")], io)).toBe(1);
    expect(io.err).toMatch(
      /bad\.yaml:4:17: error\[UNKNOWN_FIELD\] sites\.lab\.devices\[0\]\.slotz: unknown field "slotz"/,
    );
    expect(io.err).toContain("nothing simulated");
  });

  it("Given a dead link between edge sites, Then the plain run refuses and --optimize routes around it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-dead-"));
    const spec = `name: two-labs
sites:
  lab: { type: edge }
  field: { type: edge }
  cloud: { type: aws, region: us-east-1 }
steps:
  - { name: sense, site: field, process: { command: ["true"] }, hints: { durationSeconds: 5, outputBytes: 1000000, pinned: true } }
  - { name: clean, site: lab, depends: [sense], process: { command: ["true"] }, hints: { durationSeconds: 5, outputBytes: 1000 } }
`;
    const topology = `sites:
  lab: { type: edge, devices: [{ slots: 2 }] }
  field: { type: edge, devices: [{ slots: 2 }] }
  cloud: { type: aws }
links:
  - { from: lab, to: cloud, bandwidthMbps: 100, latencyMs: 20 }
  - { from: field, to: cloud, bandwidthMbps: 10, latencyMs: 40 }
  - { from: field, to: lab, bandwidthMbps: 0 }
`;
    writeFileSync(join(dir, "spec.yaml"), spec);
    writeFileSync(join(dir, "t.yaml"), topology);
    const plain = testIo(dir);
    expect(await simulateCommand.run(["spec.yaml", "-t", "t.yaml", "--runs", "3"], plain)).toBe(1);
    expect(plain.err).toContain(
      't.yaml:8:44: error[DEAD_LINK] links[2].bandwidthMbps: link field → lab is down (0 Mbps), but step "clean" reads the output of "sense" across it',
    );
    const search = testIo(dir);
    expect(
      await simulateCommand.run(["spec.yaml", "-t", "t.yaml", "--runs", "3", "--optimize"], search),
    ).toBe(0);
    expect(search.out).toContain("BLOCKED: no usable link field → lab");
    expect(search.out).toMatch(/clean\s+lab\s+field/);
  });

  it("Given --optimize --apply, Then the best placement is written into the spec with its comments and style kept, and the diff is shown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-apply-"));
    const spec = `# Two labs; the field link to the lab is down.
name: two-labs
sites:
  lab: { type: edge }
  field: { type: edge }
  cloud: { type: aws, region: us-east-1 }
steps:
  - { name: sense, site: field, process: { command: ["true"] }, hints: { durationSeconds: 5, outputBytes: 1000000, pinned: true } }
  - name: clean
    site: lab # where the lab's GPU is
    depends: [sense]
    process: { command: ["true"] }
    hints: { durationSeconds: 5, outputBytes: 1000 }
`;
    const topology = `sites:
  lab: { type: edge, devices: [{ slots: 2 }] }
  field: { type: edge, devices: [{ slots: 2 }] }
  cloud: { type: aws }
links:
  - { from: lab, to: cloud, bandwidthMbps: 100, latencyMs: 20 }
  - { from: field, to: cloud, bandwidthMbps: 10, latencyMs: 40 }
  - { from: field, to: lab, bandwidthMbps: 0 }
`;
    writeFileSync(join(dir, "spec.yaml"), spec);
    writeFileSync(join(dir, "t.yaml"), topology);
    const io = testIo(dir);
    const args = ["spec.yaml", "-t", "t.yaml", "--runs", "3", "--optimize", "--apply"];
    expect(await simulateCommand.run(args, io)).toBe(0);
    const written = readFileSync(join(dir, "spec.yaml"), "utf8");
    expect(written).toBe(spec.replace("site: lab # where", "site: field # where"));
    expect(io.out).toContain("--apply: wrote 1 step site(s) into spec.yaml");
    expect(io.out).toContain(
      "-    site: lab # where the lab's GPU is\n+    site: field # where the lab's GPU is",
    );
    // The written spec no longer crosses the dead link, so a plain simulation runs.
    expect(await simulateCommand.run(["spec.yaml", "-t", "t.yaml", "--runs", "3"], testIo(dir))).toBe(0);
    const again = testIo(dir);
    expect(await simulateCommand.run(args, again)).toBe(0);
    expect(again.out).toContain("nothing written");
    await expect(simulateCommand.run([...args, "--json"], testIo(dir))).rejects.toThrow(/does not combine/);
    await expect(simulateCommand.run(["spec.yaml", "-t", "t.yaml", "--apply"], testIo(dir))).rejects.toThrow(
      /--apply needs --optimize/,
    );
  });

  it("rejects bad usage", async () => {
    await expect(simulateCommand.run([SPEC], testIo())).rejects.toThrow(UsageError);
    await expect(simulateCommand.run([SPEC, "-t", TOPOLOGY, "--runs", "0"], testIo())).rejects.toThrow(
      /--runs must be an integer from 1/,
    );
    await expect(simulateCommand.run([SPEC, "-t", TOPOLOGY, "--gantt", "x.png"], testIo())).rejects.toThrow(
      /\.svg or \.html/,
    );
    await expect(
      simulateCommand.run([SPEC, "-t", TOPOLOGY, "--objective", "cost"], testIo()),
    ).rejects.toThrow(/needs --optimize/);
    await expect(simulateCommand.run(["nope.yaml", "-t", TOPOLOGY], testIo())).rejects.toThrow(
      /cannot read the spec nope\.yaml: no such file/,
    );
  });
});
