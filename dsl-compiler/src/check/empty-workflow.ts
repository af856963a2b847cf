import { type CheckRule, error } from "./rule.ts";

export const checkEmptyWorkflow: CheckRule = (spec) =>
  spec.steps.length === 0
    ? [
        error(
          "EMPTY_WORKFLOW",
          ["steps"],
          "the workflow has no steps",
          "add at least one step; see examples/hello/workflow.yaml",
        ),
      ]
    : [];
