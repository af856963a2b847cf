import { describe, expect, it } from "vitest";
import { compileSpec } from "../compile.ts";
import type { ForeachResultEntry } from "../contract/foreach-results.ts";
import {
  START_OPTIONS_KEY,
  type StepMessage,
  startExecutionInput,
  workflowInputOf,
} from "../contract/step-message.ts";
import { runCompiledWorkflow } from "./run-compiled.ts";

const SPEC = `
name: attempts
sites:
  lab: { type: edge }
steps:
  - name: each
    site: lab
    foreach: { items: input.items }
    retry: { maxAttempts: 3, intervalSeconds: 0 }
    process: { command: ["true"] }
  - name: flaky
    site: lab
    retry: { maxAttempts: 3, intervalSeconds: 0 }
    process: { command: ["true"] }
`;

describe("runCompiledWorkflow attempt numbers", () => {
  it("numbers attempts from the interpreter's retries, not from the input", async () => {
    // Given two identical foreach items and a step that fails its first attempt
    const { compiled, diagnostics } = compileSpec(SPEC);
    expect(diagnostics).toEqual([]);
    const seen: Array<Pick<StepMessage, "step" | "attempt" | "input">> = [];
    let flakyCalls = 0;
    // When the workflow runs locally
    const output = await runCompiledWorkflow(
      compiled!,
      { items: ["same", "same"] },
      {
        runStep: async (message) => {
          seen.push({ step: message.step, attempt: message.attempt, input: message.input });
          if (message.step === "flaky" && ++flakyCalls === 1) {
            throw Object.assign(new Error("first attempt fails"), { name: "Ferry.ExitCode" });
          }
          return { ok: message.step };
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    // Then each item runs once as attempt 1, the retried step reports attempt 2, and no local field leaks
    expect(output).toEqual({ each: [{ ok: "each" }, { ok: "each" }], flaky: { ok: "flaky" } });
    expect(seen.filter((m) => m.step === "each").map((m) => m.attempt)).toEqual([1, 1]);
    expect(seen.filter((m) => m.step === "flaky").map((m) => m.attempt)).toEqual([1, 2]);
    for (const m of seen)
      expect(Object.keys(m.input).sort()).toEqual(
        m.step === "each" ? ["deps", "input", "item"] : ["deps", "input"],
      );
  });

  it("retries one foreach item on its own, as attempt 2 of that item only", async () => {
    const { compiled } = compileSpec(SPEC);
    const attempts: Array<[unknown, number]> = [];
    let failed = false;
    await runCompiledWorkflow(
      compiled!,
      { items: ["a", "b"] },
      {
        runStep: async (message) => {
          if (message.step !== "each") return {};
          attempts.push([message.input.item, message.attempt]);
          if (message.input.item === "b" && !failed) {
            failed = true;
            throw Object.assign(new Error("item b fails once"), { name: "Ferry.ExitCode" });
          }
          return {};
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
      },
    ).result;
    expect(attempts.sort()).toEqual([
      ["a", 1],
      ["b", 1],
      ["b", 2],
    ]);
  });
});

describe("runCompiledWorkflow start options (ferry start --no-cache)", () => {
  const spec = `
name: start-options
sites:
  lab: { type: edge }
steps:
  - name: a
    site: lab
    process: { command: ["true"] }
  - name: each
    depends: [a]
    site: lab
    foreach: { items: input.items }
    process: { command: ["true"] }
`;
  async function messages(input: unknown): Promise<Array<Pick<StepMessage, "step" | "noCache" | "input">>> {
    const { compiled } = compileSpec(spec);
    const seen: Array<Pick<StepMessage, "step" | "noCache" | "input">> = [];
    await runCompiledWorkflow(compiled!, input, {
      runStep: async (message) => {
        seen.push({ step: message.step, noCache: message.noCache, input: message.input });
        return {};
      },
      runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
    }).result;
    return seen;
  }

  it("unwraps the envelope: every step message carries noCache and sees only the workflow input", async () => {
    const seen = await messages(startExecutionInput({ items: [1, 2] }, { noCache: true }));
    expect(seen.map((m) => [m.step, m.noCache])).toEqual([
      ["a", true],
      ["each", true],
      ["each", true],
    ]);
    for (const m of seen) expect(m.input.input).toEqual({ items: [1, 2] });
    // Readers of the execution's input (ferry ui) unwrap it the same way.
    expect(workflowInputOf(startExecutionInput({ items: [1, 2] }, { noCache: true }))).toEqual({
      items: [1, 2],
    });
  });

  it("passes any other input as the workflow's own, with noCache false", async () => {
    expect(startExecutionInput({ items: [1] })).toEqual({ items: [1] });
    const plain = await messages({ items: [1] });
    expect(plain.map((m) => m.noCache)).toEqual([false, false]);
    // A look-alike whose noCache is no boolean is the workflow's input, never an invalid message.
    const lookalike = { [START_OPTIONS_KEY]: { noCache: "yes" }, input: {}, items: [1] };
    const seen = await messages(lookalike);
    expect(seen.map((m) => m.noCache)).toEqual([false, false]);
    expect(seen[0]!.input.input).toEqual(lookalike);
    expect(workflowInputOf(lookalike)).toEqual(lookalike);
  });
});

describe("runCompiledWorkflow Distributed Map result entries", () => {
  const spec = `
version: "1.1"
name: records
sites:
  lab: { type: edge }
steps:
  - name: make
    site: lab
    process: { command: ["true"] }
    outputs: [items.json]
  - name: each
    depends: [make]
    site: lab
    foreach: { records: items.json }
    process: { command: ["true"] }
`;

  it("records each item's input as the JSON of the child execution's input, item and index after the shared fields", async () => {
    const { compiled, diagnostics } = compileSpec(spec);
    expect(diagnostics).toEqual([]);
    const items = [{ n: 0 }, "two", [3, { x: 'é\n"' }], null];
    const entries: ForeachResultEntry[] = [];
    const childInputs: unknown[] = [];
    await runCompiledWorkflow(
      compiled!,
      { run: 1 },
      {
        runStep: async (message) => {
          if (message.step === "each") childInputs[message.index!] = message.input;
          return message.step === "make" ? { rows: [1, 2] } : { ok: true };
        },
        runHttpTask: async () => ({ StatusCode: 200, ResponseBody: {} }),
        distributedMap: {
          readItems: async function* () {
            yield* items;
          },
          openResults: async () => ({
            write: async (entry) => {
              entries.push(entry);
            },
            close: async () => ({ Bucket: "b", Key: "k/manifest.json" }),
          }),
        },
      },
    ).result;
    expect(entries).toHaveLength(items.length);
    for (const entry of entries) {
      const index = Number(entry.Name);
      const input = JSON.parse(entry.Input) as Record<string, unknown>;
      // Exactly what JSON.stringify writes for the child's input, key order included.
      expect(entry.Input).toBe(JSON.stringify({ ...input, item: items[index], index }));
      expect(Object.keys(input).slice(-2)).toEqual(["item", "index"]);
      expect(input.item).toEqual(items[index]);
      expect(input.deps).toEqual({ make: { rows: [1, 2] } });
      expect(childInputs[index]).toEqual({
        input: { run: 1 },
        deps: { make: { rows: [1, 2] } },
        item: items[index],
      });
    }
  });
});
