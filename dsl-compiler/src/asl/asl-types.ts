/** The subset of the Amazon States Language Ferry emits. @see https://states-language.net/spec.html */
export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

export type AslState = AslTask | AslParallel | AslMap | AslPass | AslChoice | AslSucceed | AslFail;

interface AslStateBase {
  Comment?: string;
  Next?: string;
  End?: true;
}

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export interface AslTask extends AslStateBase {
  Type: "Task";
  Resource: string;
  Parameters?: Record<string, unknown>;
  ResultSelector?: Record<string, unknown>;
  ResultPath?: string | null;
  OutputPath?: string;
  TimeoutSeconds?: number;
  HeartbeatSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
}

export interface AslParallel extends AslStateBase {
  Type: "Parallel";
  Catch?: AslCatcher[];
  Branches: Array<{ StartAt: string; States: Record<string, AslState> }>;
  Parameters?: Record<string, unknown>;
  ResultSelector?: Record<string, unknown>;
  ResultPath?: string | null;
}

export interface AslMap extends AslStateBase {
  Type: "Map";
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  ItemProcessor: {
    ProcessorConfig?: { Mode: "INLINE" } | { Mode: "DISTRIBUTED"; ExecutionType: "STANDARD" };
    StartAt: string;
    States: Record<string, AslState>;
  };
  /** Distributed mode only: where the items come from. */
  ItemReader?: {
    Resource: string;
    ReaderConfig?: { InputType: "JSON" | "CSV" | "JSONL"; CSVHeaderLocation?: "FIRST_ROW" };
    Parameters: Record<string, unknown>;
  };
  /** Distributed mode only: where the results go (the Map's result is then a reference to them). */
  ResultWriter?: { Resource: string; Parameters: Record<string, unknown> };
  ToleratedFailurePercentage?: number;
  /** Distributed mode only: children run on batches, with input `{ Items, BatchInput }`. */
  ItemBatcher?: {
    MaxItemsPerBatch?: number;
    MaxInputBytesPerBatch?: number;
    BatchInput?: Record<string, unknown>;
  };
  Label?: string;
  ResultSelector?: Record<string, unknown>;
  ResultPath?: string | null;
  Catch?: AslCatcher[];
}

export interface AslPass extends AslStateBase {
  Type: "Pass";
  InputPath?: string;
  Parameters?: Record<string, unknown>;
  Result?: unknown;
  ResultPath?: string | null;
}

export interface AslChoice {
  Type: "Choice";
  Comment?: string;
  Choices: Array<Record<string, unknown> & { Next: string }>;
  Default?: string;
}

export interface AslFail {
  Type: "Fail";
  Comment?: string;
  Error?: string;
  Cause?: string;
  ErrorPath?: string;
  CausePath?: string;
}

export interface AslSucceed {
  Type: "Succeed";
  Comment?: string;
}
