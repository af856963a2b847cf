// Entry of the built agent (dist/agent: the single-file bundle and the Node
// single-executable application). It starts itself for function steps: the
// executable is its own Node, the bundle runs under the Node that runs it.
import { isSea } from "node:sea";
import { main } from "./main.ts";

const self = isSea() ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1]!];
main(process.argv.slice(2), { self }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ferry-agent: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
