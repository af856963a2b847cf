// Entry of the built agent (dist/agent: the single-file bundle and the Node
// single-executable application). It starts itself for function steps: the
// executable is its own Node, the bundle runs under the Node that runs it.
import { basename } from "node:path";
import { isSea } from "node:sea";
import { reexecWithTunables, restoreEnvironment } from "./idle-memory.ts";

const self = isSea() ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1]!];
const args = process.argv.slice(2);
// Before the agent's modules are evaluated (main is imported lazily below): the same pid
// carries on with glibc's tunables and a smaller young generation, so an idle agent does not hold the memory of its own start.
// Not when started through the dynamic loader (the Fargate wrapper runs `ld-linux… ferry-agent`):
// execPath is then the loader, and the program would be lost.
const throughLoader = basename(self[0]!).startsWith("ld-");
const again = throughLoader ? undefined : reexecWithTunables(process.env, args);
if (again && typeof process.execve === "function") {
  try {
    process.execve(self[0]!, [...self, ...args], again.env);
  } catch {
    // Not restartable here (say, the program was replaced on disk): run on, with glibc's defaults.
  }
}
restoreEnvironment(process.env);

import("./main.ts")
  .then(({ main }) => main(args, { self }))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ferry-agent: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
