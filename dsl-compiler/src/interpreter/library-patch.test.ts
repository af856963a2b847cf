import { StateMachine } from "aws-local-stepfunctions";
import { JSONPath } from "jsonpath-plus";
import { describe, expect, it } from "vitest";

// patches/aws-local-stepfunctions+3.0.0.patch resolves paths of names and
// indexes without jsonpath-plus (its answers must be jsonpath-plus's own), and
// adds the run option noEventLogs.
const documents: unknown[] = [
  { a: { b: 1, "b-c": [10, { d: null }], e: "text", f: false, g: 0 }, "0": "zero", list: [[1, 2], { x: 3 }] },
  [{ results: { s0: { out: 1 } } }, { results: { s1: "two" } }],
  { a: null, b: [], c: {}, length: 5 },
  "a string",
  0,
  null,
  [],
];
const paths = [
  "$",
  "$.a",
  "$.a.b",
  "$.a.e.length",
  "$.a.f",
  "$.a.g",
  "$.a.missing",
  "$.a.b.c",
  "$['a']['b-c']",
  "$.a['b-c'][1].d",
  "$.a['b-c'][1].d.e",
  "$.a['b-c'][5]",
  "$[0]",
  "$[1].results['s1']",
  "$['0']",
  "$.list[0][1]",
  "$.list[1].x",
  "$.length",
  "$.b",
  "$.c",
  "$.a.toString",
  "$.constructor",
  // Not simple: these still go to jsonpath-plus.
  "$.list[*].x",
  "$..x",
];

/** What the interpreter answers for `path` on `document`: the value, or that it points to nothing. */
async function viaInterpreter(path: string, document: unknown): Promise<{ value: unknown } | "none"> {
  const machine = new StateMachine(
    { StartAt: "p", States: { p: { Type: "Pass", Parameters: { "v.$": path }, End: true } } } as never,
    { validationOptions: { noValidate: true } },
  );
  try {
    const out = (await machine.run(document as never).result) as { v: unknown };
    return { value: out.v };
  } catch (error) {
    expect(String((error as { cause?: { message?: string } }).cause?.message)).toMatch(
      /does not point to a value/,
    );
    return "none";
  }
}

describe("the interpreter's JSONPath fast path", () => {
  it("answers as jsonpath-plus does for every path and document", async () => {
    let compared = 0;
    for (const document of documents)
      for (const path of paths) {
        const expected = JSONPath({ path, json: document as never, wrap: false });
        const got = await viaInterpreter(path, document);
        expect(got, `${path} on ${JSON.stringify(document)}`).toEqual(
          expected === undefined ? "none" : { value: expected },
        );
        compared++;
      }
    expect(compared).toBe(documents.length * paths.length);
  });

  it("reads the context object for $$ paths", async () => {
    const machine = new StateMachine(
      {
        StartAt: "p",
        States: {
          p: {
            Type: "Pass",
            Parameters: { "id.$": "$$.Execution.Id", "token.$": "$$.Task.Token" },
            End: true,
          },
        },
      } as never,
      { validationOptions: { noValidate: true } },
    );
    const out = await machine.run(
      {},
      { context: { Execution: { Id: "exec-1" }, Task: { Token: "t" } } as never },
    ).result;
    expect(out).toEqual({ id: "exec-1", token: "t" });
  });
});

describe("the interpreter's noEventLogs run option", () => {
  const definition = {
    StartAt: "par",
    States: {
      par: {
        Type: "Parallel",
        Branches: [
          { StartAt: "a", States: { a: { Type: "Pass", Parameters: { "x.$": "$.x" }, End: true } } },
          { StartAt: "b", States: { b: { Type: "Pass", Result: 2, End: true } } },
        ],
        Next: "done",
      },
      done: { Type: "Pass", End: true },
    },
  };

  async function run(noEventLogs: boolean) {
    const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
    const execution = machine.run({ x: 1 }, { noEventLogs });
    const events: string[] = [];
    const read = (async () => {
      for await (const event of execution.eventLogs) events.push(event.type);
    })();
    const result = await execution.result;
    await read;
    return { result, events };
  }

  it("records nothing and answers the same, through nested branches", async () => {
    const logged = await run(false);
    const silent = await run(true);
    expect(silent.result).toEqual([{ x: 1 }, 2]);
    expect(silent.result).toEqual(logged.result);
    expect(logged.events).toContain("ParallelBranchSucceeded");
    expect(silent.events).toEqual([]);
  });
});

describe("the interpreter shares state values instead of copying each state's input", () => {
  const machine = (definition: unknown) =>
    new StateMachine(definition as never, { validationOptions: { noValidate: true } });

  it("passes values on by reference, and never changes one in place", async () => {
    const input = { a: { n: 1, list: [1, 2] }, b: { m: 2 } };
    const before = JSON.stringify(input);
    const out = (await machine({
      StartAt: "merge",
      States: {
        merge: {
          Type: "Pass",
          Parameters: { "merged.$": "States.JsonMerge($.a, $.b, false)" },
          ResultPath: "$.m",
          Next: "set",
        },
        set: { Type: "Pass", Result: 3, ResultPath: "$.a.n", Next: "par" },
        par: {
          Type: "Parallel",
          Branches: [
            { StartAt: "x", States: { x: { Type: "Pass", Result: "x", ResultPath: "$.b.m", End: true } } },
            { StartAt: "y", States: { y: { Type: "Pass", End: true } } },
          ],
          End: true,
        },
      },
    }).run(input).result) as Array<Record<string, { m?: unknown; n?: unknown; list?: unknown }>>;
    // Unchanged: ResultPath copies along its path, JsonMerge makes a new object.
    expect(JSON.stringify(input)).toBe(before);
    expect(out[0]!.m).toEqual({ merged: { n: 1, list: [1, 2], m: 2 } });
    expect(out[0]!.a).toEqual({ n: 3, list: [1, 2] });
    expect(out[0]!.b).toEqual({ m: "x" });
    // The other branch saw the Parallel's input, not its sibling's write.
    expect(out[1]!.b).toEqual({ m: 2 });
    // Not copied: what no state wrote to is the caller's own value.
    expect(out[0]!.a!.list).toBe(input.a.list);
    expect(out[1]!.b).toBe(input.b);
  });
});
