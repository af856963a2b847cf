// One Lambda execution environment for `ferry functions serve`, in its own
// Node process: plain JavaScript (no TypeScript loader, as on Lambda), it
// imports the deployed bundle once (the cold start) and then runs one
// invocation at a time, as Lambda does, for as long as the parent keeps it.
// The AWS SDK, which the bundle leaves to the Lambda runtime, is provided
// from Ferry's own install by lambda-sdk-hooks.mjs.
// Protocol (IPC messages):
//   child → parent  { type: "ready", initMs, modules } | { type: "init-error", errorType, errorMessage }
//                   (modules: the files loaded from the function's code folder, LAMBDA_TASK_ROOT, with their sha256)
//   parent → child  { type: "invoke", id, event, deadlineMs, requestId }
//   child → parent  { type: "result", id, response } | { type: "error", id, errorType, errorMessage }
import { register } from "node:module";
import { relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel } from "node:worker_threads";

const bundle = process.env.FERRY_LAMBDA_BUNDLE;
const handlerName = process.env.FERRY_LAMBDA_HANDLER_EXPORT;

const loaded = [];
let flushed;
const { port1, port2 } = new MessageChannel();
port1.on("message", (message) => {
  if (message.type === "loaded") loaded.push(message);
  else if (message.type === "flushed") flushed?.();
});
register(new URL("./lambda-sdk-hooks.mjs", import.meta.url), {
  data: { sdkParent: import.meta.url, port: port2 },
  transferList: [port2],
});

/** The files loaded from the code folder, once the hooks have reported every load. */
async function codeModules() {
  await new Promise((resolve) => {
    flushed = resolve;
    port1.postMessage("flush");
  });
  port1.close();
  const root = process.env.LAMBDA_TASK_ROOT;
  return loaded.flatMap(({ url, sha256, bytes }) => {
    const path = fileURLToPath(url);
    const inside = root ? relative(root, path) : path;
    if (root && (inside.startsWith(`..${sep}`) || inside === "..")) return [];
    return [{ path: inside, sha256, bytes }];
  });
}

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
const initMs = performance.now() - started;
await send({ type: "ready", initMs, modules: await codeModules() });

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
