import type { CliIo } from "./command.ts";

/** A CliIo that records output, for tests of commands. */
export function recordingIo(cwd: string = process.cwd()): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    cwd,
    env: {},
    isTTY: false,
    signal: new AbortController().signal,
  };
  return io;
}
