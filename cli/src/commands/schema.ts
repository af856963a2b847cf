import { workflowJsonSchema } from "@ferry/dsl-compiler";
import type { CliCommand } from "../command.ts";

export const schemaCommand: CliCommand = {
  usage: "Usage: ferry schema > workflow.schema.json",
  async run(_argv, io) {
    io.stdout(`${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
