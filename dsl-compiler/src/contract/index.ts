// The step contract every runtime imports; light: zod only, no YAML parser, ASL generator or interpreter.
export {
  MAX_PAYLOAD_BYTES,
  parseStepMessage,
  type StepInput,
  type StepMessage,
  StepMessageSchema,
} from "./step-message.ts";
export { FERRY_ERRORS, type TaskFailure, toTaskFailure } from "./task-failure.ts";
