import { parseArgs } from "node:util";
import { executionStatus } from "@ferry/infra";
import { type CliCommand, UsageError } from "../command.ts";
import {
  AWS_FLAGS,
  AWS_FLAGS_USAGE,
  awsContextFor,
  loadWorkflow,
  reportDeployError,
} from "../support/cloud-commands.ts";
import { formatStatus } from "../support/format-status.ts";

const USAGE = `Usage: ferry status <execution-arn> [options]

Prints one row per step of a deployed workflow's execution, from its Step
Functions history: state, attempts (every retry is one), foreach items,
duration, and the last error and cause. Child executions follow, indented.
States map to steps through the state index ferry deploy stored (or the
spec's, with --spec).

Options:
  --spec FILE     map states with this spec's compiled state index
  --json          print the report as JSON
  --full          do not shorten causes
${AWS_FLAGS_USAGE}`;

/** `ferry status`: the per-step table of one execution. */
export const statusCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...AWS_FLAGS,
        spec: { type: "string" },
        json: { type: "boolean" },
        full: { type: "boolean" },
      },
    });
    if (positionals.length !== 1 || !positionals[0]!.startsWith("arn:")) {
      throw new UsageError("name one execution ARN (ferry start prints it)");
    }
    let index: Parameters<typeof executionStatus>[2];
    if (values.spec) {
      const loaded = await loadWorkflow(values.spec, io);
      if (!loaded) return 1;
      index = loaded.compiled.stateMachine.states;
    }
    const context = awsContextFor(values, io.env);
    try {
      const status = await executionStatus(context, positionals[0]!, index);
      io.stdout(
        values.json
          ? `${JSON.stringify(status, null, 2)}\n`
          : `${formatStatus(status, values.full ? { causeWidth: 100_000 } : {})}\n`,
      );
      return 0;
    } catch (error) {
      return reportDeployError("status", error, io);
    }
  },
};
