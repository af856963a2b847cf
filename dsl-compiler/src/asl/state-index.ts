/**
 * What each state of a compiled machine is for. The ASL stays plain ASL;
 * this index lets runtimes (embedded, simulator, `ferry status`) map states
 * back to steps without parsing state names.
 */
export type StateRole =
  /**
   * Sends the step's message and waits for its task token. Named exactly
   * after the step, except a failure handler's Task, which says which step it `handles`.
   */
  | { kind: "step"; step: string; handles?: string }
  /**
   * The Map state that fans a `foreach` step out over its items;
   * `distributed`: a Distributed Map (S3 reader and writer, child executions).
   */
  | { kind: "foreach"; step: string; distributed?: true }
  /** Waits until `dep`, running in another Parallel branch, has finished; yields its output. */
  | { kind: "await"; step: string; dep: string }
  /** The path taken when `dep` had already finished before `step` started waiting: reads its output. */
  | { kind: "await-read"; step: string; dep: string }
  /** Publishes `step`'s output to the steps awaiting it in other branches. */
  | { kind: "signal"; step: string }
  /** Wakes one awaiting branch (inside the signal's Map). */
  | { kind: "signal-notify"; step: string }
  /** Runs a child state machine to completion. */
  | { kind: "child"; machine: string }
  /** Pass, Choice, Parallel and Succeed states that only move data or control. */
  | { kind: "control" };

export type StateIndex = Record<string, StateRole>;
