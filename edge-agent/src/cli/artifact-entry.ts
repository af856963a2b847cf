// Entry of the built agent (dist/agent: the single-file bundle and the Node
// single-executable application). It starts itself for function steps: the
// executable is its own Node, the bundle runs under the Node that runs it.
import { isSea } from "node:sea";
import { reexecWithTunables, restoreEnvironment } from "./idle-memory.ts";
import { ownCommandLine, selfCommand } from "./self-command.ts";

const args = process.argv.slice(2);
const self = selfCommand({
  execPath: process.execPath,
  execArgv: process.execArgv,
  argv: process.argv,
  isSea: isSea(),
  cmdline: ownCommandLine(),
  cwd: process.cwd(),
});
// Before the agent's modules are evaluated (main is imported lazily below): the same pid
// carries on with glibc's tunables and a smaller young generation, so an idle agent does not hold the memory of its own start.
const again = self ? reexecWithTunables(process.env, args) : undefined;
if (self && again && typeof process.execve === "function") {
  try {
    process.execve(self[0]!, [...self, ...args], again.env);
  } catch {
    // Not restartable here (say, the program was replaced on disk, or an emulator without binfmt runs it): run on, with glibc's defaults.
  }
}
restoreEnvironment(process.env);

import("./main.ts")
  .then(({ main }) => main(args, self ? { self } : {}))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ferry-agent: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
