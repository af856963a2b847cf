import { afterEach, describe, expect, it, vi } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { main } from "./main.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => err.push(String(chunk)) > 0);
  return { out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("ferry-agent (the standalone agent's entry)", () => {
  it("Given --version, Then it prints its version, Node's and the platform, and exits 0", async () => {
    const { out } = capture();
    expect(await main(["--version"])).toBe(0);
    expect(out.join("")).toBe(
      `ferry-agent ${packageJson.version} (Node.js ${process.version} ${process.platform}-${process.arch})\n`,
    );
  });

  it("Given --help, Then it prints the agent's usage under its own name", async () => {
    const { out } = capture();
    expect(await main(["--help"])).toBe(0);
    expect(out.join("")).toContain("Usage: ferry-agent --config agent.yaml");
  });

  it("Given an unknown flag, Then it exits 2 naming it, with the usage", async () => {
    const { err } = capture();
    expect(await main(["--queue-urll", "x"])).toBe(2);
    expect(err.join("")).toMatch(/^ferry-agent: .*--queue-urll/);
    expect(err.join("")).toContain("Usage: ferry-agent");
  });

  it("Given engine-proxy --help, Then it prints the engine proxy's usage (what ferry-engine-proxy.service runs)", async () => {
    const { out } = capture();
    expect(await main(["engine-proxy", "--help"])).toBe(0);
    expect(out.join("")).toContain("Usage: ferry-agent engine-proxy --listen SOCKET --bind-root DIR");
  });

  it("Given engine-proxy without --listen, Then it exits 2 naming the flag, with the proxy's usage", async () => {
    const { err } = capture();
    expect(await main(["engine-proxy", "--bind-root", "/tmp"])).toBe(2);
    expect(err.join("")).toMatch(/^ferry-agent engine-proxy: --listen SOCKET is required/);
    expect(err.join("")).toContain("Usage: ferry-agent engine-proxy");
  });

  it("Given an invalid config, Then it exits 2 naming the bad fields", async () => {
    const { err } = capture();
    vi.stubEnv("FERRY_CONCURRENCY", "0");
    expect(await main(["--site", "lab"])).toBe(2);
    for (const field of ["concurrency:", "queues:", "manifests:"]) expect(err.join("")).toContain(field);
  });

  it("Given function-host without the variables the agent sets, Then it exits 2 saying what the mode is for", async () => {
    const { err } = capture();
    for (const name of [
      "FERRY_FUNCTION_FILE",
      "FERRY_FUNCTION_EXPORT",
      "FERRY_FUNCTION_RESULT",
      "FERRY_FUNCTION_MESSAGE",
    ])
      vi.stubEnv(name, "");
    expect(await main(["function-host"])).toBe(2);
    expect(err.join("")).toContain("missing FERRY_FUNCTION_FILE, FERRY_FUNCTION_EXPORT");
  });
});
