import { workflowJsonSchema } from "../../schema/json-schema.ts";
import type { CliCommand } from "../command.ts";

export const schemaCommand: CliCommand = {
  name: "schema",
  summary: "print the JSON Schema of workflow specs (for editors)",
  usage: "Usage: ferry schema > workflow.schema.json",
  async run(_argv, io) {
    io.stdout(`${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
