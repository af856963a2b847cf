import { z } from "zod";
import { WorkflowSpecSchema } from "./spec.ts";

/** JSON Schema (draft 2020-12) of spec v1 as users write it, for editors; generated from the zod schema. */
export function workflowJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(WorkflowSpecSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://ferry.dev/schema/workflow-v1.json",
    title: "Ferry workflow spec v1",
  };
}
