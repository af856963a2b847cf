import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { JobDirs } from "./job-dirs.ts";

describe("JobDirs", () => {
  const roots: string[] = [];
  const newRoot = () => {
    const root = mkdtempSync(join(tmpdir(), "ferry-job-dirs-"));
    roots.push(root);
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it("Given an attempt that left its folder empty, when it is released, then the next attempt gets that folder", async () => {
    const dirs = new JobDirs(newRoot());
    const first = dirs.acquire("step");
    const release = dirs.release(first);
    // Free at once: an attempt starting before the release settles reuses it.
    expect(dirs.acquire("step")).toBe(first);
    await release;
  });

  it("Given an attempt that left files and folders, when it is released, then the folder comes back empty", async () => {
    const dirs = new JobDirs(newRoot());
    const first = dirs.acquire("step");
    writeFileSync(join(first, "out.json"), "{}");
    mkdirSync(join(first, "nested"));
    writeFileSync(join(first, "nested", "part"), "x");
    await dirs.release(first);
    const next = dirs.acquire("step");
    expect(next).toBe(first);
    expect(readdirSync(next)).toEqual([]);
  });

  it("Given more released folders than it keeps, then the surplus is removed", async () => {
    const dirs = new JobDirs(newRoot(), 1);
    const [a, b] = [dirs.acquire("step"), dirs.acquire("step")];
    await dirs.release(a);
    await dirs.release(b);
    expect(existsSync(a)).toBe(true);
    expect(existsSync(b)).toBe(false);
  });
});
