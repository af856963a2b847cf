export * from "./aws-call-recorder.ts";
export * from "./errors.ts";
export * from "./serve/function-host.ts";
export * from "./serve/load-handler.ts";
export * from "./step-adapter.ts";
