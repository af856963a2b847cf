// The `ferry` command line. bin/ferry.js calls `main`; the command table loads each command only when it runs.
export { type CliCommand, type CliIo, UsageError } from "./command.ts";
export { COMMANDS, type CommandEntry } from "./commands.ts";
export { main, processIo } from "./main.ts";
