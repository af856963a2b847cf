import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { compileSpec } from "./compile.ts";
import { randomDag, seededRandom, specForDag } from "./testing/random-specs.ts";

// Untrusted specs must never crash the compiler: every input ends in either a
// compiled workflow or diagnostics that carry a position.
const fixtures = join(import.meta.dirname, "..", "fixtures");
const seeds = readdirSync(fixtures).map((name) => readFileSync(join(fixtures, name, "spec.yaml"), "utf8"));

function expectWellFormed(text: string): void {
  const result = compileSpec(text);
  if (result.compiled) return;
  expect(result.diagnostics.length).toBeGreaterThan(0);
  for (const d of result.diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.col).toBeGreaterThanOrEqual(1);
    expect(d.message.length).toBeGreaterThan(0);
  }
}

describe("the compiler never crashes", () => {
  it("on 3,000 byte-level mutations of the fixtures", () => {
    const random = seededRandom(1);
    const alphabet = ":-[]{}#&*!|>'\"%@`,? \n\t\u0000abc123";
    for (let i = 0; i < 3000; i++) {
      let text = seeds[Math.floor(random() * seeds.length)]!;
      for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits--) {
        const at = Math.floor(random() * (text.length + 1));
        const op = random();
        if (op < 0.4)
          text = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at);
        else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
        else text = text.slice(0, at) + text.slice(Math.floor(random() * text.length));
      }
      expectWellFormed(text);
    }
  });

  it("on 2,000 structural mutations (wrong types, unknown keys, dangling names)", () => {
    const random = seededRandom(2);
    const junk = [null, 0, -1, 1e12, "", "x", [], {}, true, [1, "a"], { z: 1 }];
    for (let i = 0; i < 2000; i++) {
      const spec = JSON.parse(specForDag(randomDag(1 + Math.floor(random() * 12), random)));
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) mutate(spec, random, junk);
      expectWellFormed(random() < 0.5 ? JSON.stringify(spec) : stringify(spec));
    }
  });

  it("on 1,000 random valid DAGs, which all compile", () => {
    const random = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const { compiled, diagnostics } = compileSpec(
        specForDag(randomDag(1 + Math.floor(random() * 30), random, { maxDeps: 4, window: 6 })),
      );
      expect(diagnostics).toEqual([]);
      expect(compiled).toBeDefined();
    }
  });
});

function mutate(node: unknown, random: () => number, junk: unknown[]): void {
  // Walk to a random container, then replace, delete or add a key.
  let cur = node as Record<string, unknown>;
  for (let depth = 0; depth < 4; depth++) {
    const keys = Object.keys(cur);
    if (keys.length === 0) break;
    const next = cur[keys[Math.floor(random() * keys.length)]!];
    if (next === null || typeof next !== "object" || random() < 0.3) break;
    cur = next as Record<string, unknown>;
  }
  const keys = Object.keys(cur);
  const key = keys[Math.floor(random() * keys.length)] ?? "extra";
  const op = random();
  if (op < 0.5) cur[key] = structuredClone(junk[Math.floor(random() * junk.length)]);
  else if (op < 0.75) delete cur[key];
  else
    cur[Array.isArray(cur) ? cur.length : `unknown${Math.floor(random() * 3)}`] = structuredClone(
      junk[Math.floor(random() * junk.length)],
    );
}
