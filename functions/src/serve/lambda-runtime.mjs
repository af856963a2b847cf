// One Lambda execution environment for `ferry functions serve`, in its own
// Node process: plain JavaScript (no TypeScript loader, as on Lambda), it
// imports the deployed bundle once (the cold start) and then runs one
// invocation at a time, as Lambda does, for as long as the parent keeps it.
// The AWS SDK, which the bundle leaves to the Lambda runtime, is provided
// from Ferry's own install by lambda-sdk-hooks.mjs.
// Protocol (IPC messages):
//   child → parent  { type: "ready", initMs } | { type: "init-error", errorType, errorMessage }
//   parent → child  { type: "invoke", id, event, deadlineMs, requestId }
//   child → parent  { type: "result", id, response } | { type: "error", id, errorType, errorMessage }
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const bundle = process.env.FERRY_LAMBDA_BUNDLE;
const handlerName = process.env.FERRY_LAMBDA_HANDLER_EXPORT;

register(new URL("./lambda-sdk-hooks.mjs", import.meta.url), {
  data: { sdkParent: import.meta.url },
});

function errorOf(thrown) {
  if (thrown instanceof Error) return { errorType: thrown.name || "Error", errorMessage: thrown.message };
  return { errorType: "Error", errorMessage: String(thrown) };
}

const send = (message) =>
  new Promise((resolve) => {
    process.send(message, undefined, {}, () => resolve());
  });

let handler;
const started = performance.now();
try {
  const module = await import(pathToFileURL(bundle).href);
  handler = module[handlerName];
  if (typeof handler !== "function") {
    throw Object.assign(new Error(`${bundle} exports no function "${handlerName}"`), {
      name: "Runtime.HandlerNotFound",
    });
  }
} catch (thrown) {
  await send({ type: "init-error", ...errorOf(thrown) });
  process.exit(1);
}
await send({ type: "ready", initMs: performance.now() - started });

process.on("message", async (message) => {
  if (message?.type !== "invoke") return;
  const context = {
    awsRequestId: message.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
  try {
    const response = await handler(message.event, context);
    await send({ type: "result", id: message.id, response: response ?? null });
  } catch (thrown) {
    await send({ type: "error", id: message.id, ...errorOf(thrown) });
  }
});
// The parent closing the channel ends the environment, as Lambda freezes and reclaims it.
process.on("disconnect", () => process.exit(0));
