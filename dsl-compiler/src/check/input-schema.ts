import { compileInputSchema } from "../validate-input.ts";
import { type CheckRule, error } from "./rule.ts";

/** The `input:` JSON Schema compiles, so a bad schema is refused when the spec is validated, not at the first run. */
export const checkInputSchema: CheckRule = (spec) => {
  if (!spec.input) return [];
  const result = compileInputSchema(spec.input);
  return "problem" in result
    ? [
        error(
          "INVALID_INPUT_SCHEMA",
          ["input"],
          `not a usable JSON Schema: ${result.problem}`,
          "write a JSON Schema (draft 2020-12), e.g. { type: object, required: [date] }",
        ),
      ]
    : [];
};
