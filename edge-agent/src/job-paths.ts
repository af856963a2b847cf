/** Where job files appear inside a task container. */
export const CONTAINER_JOB_DIR = "/ferry/job";
/** File a step may write instead of printing its output on the last stdout line. */
export const OUTPUT_FILE = ".output.json";
/** File a failing step may write to choose its error name: `{ "error": "...", "cause": "..." }`. */
export const ERROR_FILE = ".error.json";
/** Job file holding a step's input (always written; named by `FERRY_INPUT_FILE`). */
export const INPUT_FILE = ".input.json";
