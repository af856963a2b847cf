import { parseArgs } from "node:util";
import { stopExecution } from "@ferry/infra";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, awsContextFor, reportDeployError } from "../support/cloud-commands.ts";

const USAGE = `Usage: ferry stop <execution-arn> [options]

Stops a running execution of a deployed workflow (StopExecution) and prints
its final status, ABORTED. Steps already handed to agents or functions are
not killed; their answers are refused. Exits 1 for an unknown execution or
one that already ended.

Options:
  --error ERROR   recorded as the execution's error (up to 256 characters)
  --cause CAUSE   recorded as its cause
${AWS_FLAGS_USAGE}

Example:
  ferry stop arn:aws:states:us-east-1:000000000000:execution:hello-root:3f2a… --cause "wrong input"`;

/** `ferry stop`: StopExecution of a running execution. */
export const stopCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS, error: { type: "string" }, cause: { type: "string" } },
    });
    if (positionals.length !== 1 || !positionals[0]!.startsWith("arn:")) {
      throw new UsageError("name one execution ARN (ferry start prints it)");
    }
    if (values.error !== undefined && values.error.length > 256) {
      throw new UsageError(`--error may hold up to 256 characters, got ${values.error.length}`);
    }
    const executionArn = positionals[0]!;
    const context = awsContextFor(values, io.env);
    try {
      const description = await stopExecution(context, executionArn, {
        ...(values.error === undefined ? {} : { error: values.error }),
        ...(values.cause === undefined ? {} : { cause: values.cause }),
        signal: io.signal,
      });
      const status = description.status ?? "UNKNOWN";
      io.stdout(`${status}\n`);
      if (status === "ABORTED") return 0;
      io.stderr(
        `ferry stop: execution ${executionArn} ended ${status}${description.error ? ` (${description.error})` : ""}, not ABORTED: it ended on its own before the stop took effect; ferry status ${executionArn} shows its steps\n`,
      );
      return 1;
    } catch (error) {
      return reportDeployError("stop", error, io);
    }
  },
};
