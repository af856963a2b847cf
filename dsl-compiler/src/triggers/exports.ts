export {
  applyInputTemplate,
  type InputTransformer,
  inputTransformer,
  isEventPath,
  MAX_INPUT_PATHS,
  readEventPath,
  templatePaths,
} from "./event-input.ts";
export {
  keyMatcher,
  keyMatches,
  type LocalEventContext,
  objectCreatedEvent,
  s3EventPattern,
  scheduledEvent,
} from "./events.ts";
export { nextFire, parseSchedule, type Schedule, ScheduleError } from "./schedule.ts";
