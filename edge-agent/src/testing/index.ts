// Test helpers: fixtures, a fake runtime, and the shared contract suites every queue and runtime passes.
export { type FakeCall, FakeRuntime } from "./fake-runtime.ts";
export { containerShStep, manifestOf, shStep, stepMessage, type TestStep } from "./fixtures.ts";
export { describeQueueContract, type QueueHarness } from "./queue-suite.ts";
export { describeRuntimeContract, type RuntimeSuiteOptions } from "./runtime-suite.ts";
