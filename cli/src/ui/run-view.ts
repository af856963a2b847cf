// What the UI's API answers: one shape for local runs and cloud executions. Types only, so the browser
// bundle imports it too.

export type ViewRunStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "TIMED_OUT" | "ABORTED";
export type ViewStepStatus =
  | "PENDING"
  | "RUNNING"
  | "RETRYING"
  | "SUCCEEDED"
  | "FAILED"
  | "CANCELLED"
  | "NOT_RUN";

export type RunSourceKind = "local" | "cloud";

export interface RunSummary {
  id: string;
  source: RunSourceKind;
  workflow: string;
  status: ViewRunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  stepCount: number;
  failedStep?: string;
}

export interface AttemptView {
  attempt: number;
  startedAt?: string;
  finishedAt?: string;
  outcome?: string;
  runtime?: string;
  exitCode?: number | null;
  error?: string;
  cause?: string;
  /** Name to ask the log route for. */
  log?: string;
}

export interface StepView {
  name: string;
  site?: string;
  depends: string[];
  status: ViewStepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  error?: string;
  cause?: string;
  reused?: boolean;
  items?: number;
  attemptList: AttemptView[];
  input?: unknown;
  output?: unknown;
}

export interface RunView extends RunSummary {
  input?: unknown;
  output?: unknown;
  error?: { step?: string; error: string; cause: string };
  resumedFrom?: string;
  specFile?: string;
  steps: StepView[];
  /** Which actions this run accepts now. */
  actions: { cancel: boolean; resume: boolean; redrive?: boolean };
  /** Why the resume button retries failed steps: the local runtime reruns what failed or did not finish. */
  retryNote?: string;
}

/** A node of the laid-out DAG: one step, or a collapsed group of steps. */
export interface GraphNode {
  id: string;
  label: string;
  /** The steps it stands for (one for a plain step). */
  members: string[];
  kind: "step" | "chain" | "group";
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  points: Array<{ x: number; y: number }>;
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Steps before collapsing, and nodes drawn. */
  stepCount: number;
  /** Dependencies not drawn because a longer path implies them. */
  impliedEdges: number;
  collapsed: boolean;
}

/** The simulator's predicted timeline, drawn beside the measured one. */
export interface Prediction {
  topology: string;
  /** Median simulated makespan. */
  makespanMs: number;
  /** Each step's predicted span, from the run's start (first attempt's start to last attempt's end). */
  steps: Record<string, { startMs: number; endMs: number }>;
}

export interface LogFile {
  name: string;
  text: string;
  /** Bytes left out at the head (the tail is what a failure needs). */
  truncatedBytes: number;
}

/** An SSE message of a run's stream. */
export type RunStreamMessage = { type: "steps"; steps: StepView[] } | { type: "run"; run: RunView };

/** A workflow spec of the project the page can start, with its `input:` JSON Schema. */
export interface StartableSpec {
  /** Relative to the project, with `/`. */
  specFile: string;
  workflow: string;
  inputSchema?: Record<string, unknown>;
}

/** One way a start request's input fails the workflow's `input:` schema. */
export interface InputProblem {
  /** In the input, e.g. `input.date`. */
  path: string;
  message: string;
  hint?: string;
}
