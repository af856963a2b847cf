import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";
import { CappedText } from "../worker/capped-text.ts";

interface Capture {
  stdout: CappedText;
  stderr: CappedText;
}

const METHODS = [
  ["log", "stdout"],
  ["info", "stdout"],
  ["debug", "stdout"],
  ["warn", "stderr"],
  ["error", "stderr"],
] as const;

const current = new AsyncLocalStorage<Capture>();
let installed = false;

/**
 * Console methods also write to the capture of the record whose handler
 * called them. Records of one batch run concurrently, so the capture
 * follows the async context, not time. Everything still reaches the
 * original console (CloudWatch on Lambda). Console methods rather than
 * `process.stdout`: the Lambda runtime sends console output elsewhere.
 */
function install(): void {
  if (installed) return;
  installed = true;
  for (const [method, stream] of METHODS) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      current.getStore()?.[stream].write(Buffer.from(`${format(...args)}\n`));
      original(...args);
    };
  }
}

/**
 * Runs `run` while keeping what it writes through `console`, each of
 * stdout and stderr capped at `capBytes` (head and tail kept, as the edge
 * agent keeps a step's streams).
 */
export async function captureConsole<T>(
  capBytes: number,
  run: () => Promise<T>,
): Promise<{ value: T; stdout: string; stderr: string }> {
  install();
  const capture: Capture = { stdout: new CappedText(capBytes), stderr: new CappedText(capBytes) };
  const value = await current.run(capture, run);
  return { value, stdout: capture.stdout.text(), stderr: capture.stderr.text() };
}
