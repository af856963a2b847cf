import { parseArgs } from "node:util";
import { redriveExecution } from "@ferry/infra/cloud";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, awsContextFor, reportDeployError } from "../support/cloud-commands.ts";
import { followExecution, WAIT_FLAGS, WAIT_FLAGS_USAGE, waitSettings } from "../support/follow-execution.ts";

const USAGE = `Usage: ferry redrive <execution-arn> [options]

Redrives a FAILED, ABORTED or TIMED_OUT execution (RedriveExecution): the same
execution restarts from the states that did not succeed, with their original
input; steps that succeeded are not run again. Prints the execution ARN. With
--wait, follows it to the end like ferry start --wait. Exits 1, saying why,
for an execution that cannot be redriven (still running, succeeded, past the
redrive limits, or an endpoint without RedriveExecution such as LocalStack).

Options:
${WAIT_FLAGS_USAGE}
${AWS_FLAGS_USAGE}

Example:
  ferry redrive arn:aws:states:us-east-1:123456789012:execution:hello-root:3f2a… --wait`;

/** `ferry redrive`: RedriveExecution, optionally followed to the end. */
export const redriveCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS, ...WAIT_FLAGS },
    });
    if (positionals.length !== 1 || !positionals[0]!.startsWith("arn:")) {
      throw new UsageError("name one execution ARN (ferry start prints it)");
    }
    const settings = waitSettings(values);
    const context = awsContextFor(values, io.env);
    try {
      const redriven = await redriveExecution(context, positionals[0]!);
      if (!settings.json) io.stdout(`${redriven.executionArn}\n`);
      if (!settings.quiet) {
        io.stderr(
          `redriven at ${redriven.redriveDate.toISOString()} (redrive ${redriven.redriveCount}): restarting from the states that did not succeed\n`,
        );
      }
      if (!settings.wait) return 0;
      return await followExecution("redrive", io, context, redriven.executionArn, settings, {
        minRedriveCount: redriven.redriveCount,
      });
    } catch (error) {
      return reportDeployError("redrive", error, io);
    }
  },
};
