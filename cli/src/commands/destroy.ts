import { parseArgs } from "node:util";
import { destroyWorkflow, stackNameFor } from "@ferry/infra/cloud";
import { type CliCommand, UsageError } from "../command.ts";
import { AWS_FLAGS, AWS_FLAGS_USAGE, reportDeployError, workflowTarget } from "../support/cloud-commands.ts";

const USAGE = `Usage: ferry destroy <spec.yaml|workflow> [options]

Deletes the workflow's stack (ferry-<workflow>) and waits until it is gone.
On AWS the job-files bucket and the execution logs are retained; on
LocalStack they go with the stack. Destroying a workflow that is not
deployed succeeds and says so.

Options:
${AWS_FLAGS_USAGE}
  --timeout-seconds N   give up waiting for CloudFormation (default 1800)`;

/** `ferry destroy`: delete a workflow's stack. */
export const destroyCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...AWS_FLAGS, "timeout-seconds": { type: "string" } },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file or workflow");
    const timeoutSeconds = values["timeout-seconds"] === undefined ? 1800 : Number(values["timeout-seconds"]);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
      throw new UsageError(
        `--timeout-seconds must be a positive integer, got "${values["timeout-seconds"]}"`,
      );
    }
    const target = await workflowTarget(positionals[0]!, values, io);
    if (!target) return 1;
    const { workflow, context } = target;
    const stackName = stackNameFor(workflow);
    try {
      const existed = await destroyWorkflow(stackName, context, { timeoutMs: timeoutSeconds * 1000 });
      io.stdout(
        existed
          ? `deleted stack ${stackName} in ${context.region}\n`
          : `stack ${stackName} in ${context.region} does not exist; nothing to delete\n`,
      );
      return 0;
    } catch (error) {
      return reportDeployError("destroy", error, io);
    }
  },
};
