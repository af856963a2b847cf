// The function host's script when the agent runs from sources: FunctionRuntime
// starts it under Node with tsx loaded, so TypeScript handlers import as they are.
import { runFunctionHost } from "./function-host.ts";

await runFunctionHost((url) => import(url));
