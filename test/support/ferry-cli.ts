import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The repository root. */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** The `ferry` executable of the `cli` package. */
export const FERRY_BIN = join(REPO_ROOT, "cli", "bin", "ferry.js");

export interface FerryResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the real `ferry` CLI as a child process. */
export function startFerry(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcess & { output: Promise<FerryResult> } {
  const child = spawn(process.execPath, [FERRY_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const output = new Promise<FerryResult>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return Object.assign(child, { output });
}

export function ferry(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<FerryResult> {
  return startFerry(args, options).output;
}

/** A throwaway project holding a copy of the examples, so runs land in its own `.ferry/`. */
export function tempProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-project-"));
  writeFileSync(
    join(dir, "package.json"),
    '{ "name": "ferry-test-project", "private": true, "type": "module" }\n',
  );
  cpSync(join(REPO_ROOT, "examples"), join(dir, "examples"), { recursive: true });
  return dir;
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
