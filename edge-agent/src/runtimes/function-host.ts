// Runs one `function` step in its own Node process (started by FunctionRuntime
// with tsx loaded): imports the handler, calls it with the step input from
// stdin, and writes `{ ok, output | error }` to the result file. Kept tiny:
// everything else (timeouts, logs, output size) is the worker's job.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface HostError {
  name: string;
  message: string;
  taskError?: string;
}

async function main(): Promise<void> {
  const file = process.env.FERRY_FUNCTION_FILE!;
  const exportName = process.env.FERRY_FUNCTION_EXPORT!;
  const resultPath = process.env.FERRY_FUNCTION_RESULT!;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  try {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const handler = module[exportName];
    if (typeof handler !== "function") {
      throw Object.assign(
        new Error(
          `${file} has no exported function "${exportName}" (exports: ${Object.keys(module).join(", ") || "none"})`,
        ),
        {
          taskError: "Ferry.NonRetriable",
        },
      );
    }
    const output: unknown = await handler(input, {
      workflow: process.env.FERRY_WORKFLOW,
      execution: process.env.FERRY_EXECUTION,
      step: process.env.FERRY_STEP,
      attempt: Number(process.env.FERRY_ATTEMPT),
      jobDir: process.env.FERRY_JOB_DIR,
    });
    writeFileSync(resultPath, JSON.stringify({ ok: true, output: output ?? null }));
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const taskError = (error as { taskError?: unknown }).taskError;
    const described: HostError = {
      name: error.name,
      message: error.stack ?? error.message,
      ...(typeof taskError === "string" ? { taskError } : {}),
    };
    process.stderr.write(`${error.stack ?? error.message}\n`);
    writeFileSync(resultPath, JSON.stringify({ ok: false, error: described }));
    process.exitCode = 1;
  }
}

await main();
