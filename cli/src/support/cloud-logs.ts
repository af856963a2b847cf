import { getStateIndex, readExecutionLogs } from "@ferry/infra/cloud";
import { type CliIo, UsageError } from "../command.ts";
import { awsContextFor, reportDeployError } from "./cloud-commands.ts";

/** `ferry logs <execution-arn> [step]`: the attempt logs edge agents and function hosts uploaded for a cloud execution. */
export async function cloudLogs(
  executionArn: string,
  step: string | undefined,
  flags: { "endpoint-url"?: string; region?: string },
  io: CliIo,
): Promise<number> {
  const context = awsContextFor(flags, io.env);
  try {
    const machine = executionArn.split(":")[6] ?? "";
    const workflow =
      (await getStateIndex(context, executionArn))?.workflow ?? /^(.+)-root-[0-9a-f]{8}$/.exec(machine)?.[1];
    if (!workflow)
      throw new UsageError(
        `${executionArn} is not an execution of a Ferry workflow's root state machine (<workflow>-root-<hash>)`,
      );
    const logs = await readExecutionLogs(context, executionArn, { workflow, ...(step ? { step } : {}) });
    if (logs.length === 0)
      io.stdout(
        `no logs${step ? ` for step ${step}` : ""} of ${executionArn} (edge agents and function hosts upload them when each attempt ends)\n`,
      );
    for (const l of logs) {
      const cut = l.bytes - Buffer.byteLength(l.text);
      io.stdout(`==> ${l.key} <==${cut > 0 ? ` (first ${cut} bytes left out)` : ""}\n${l.text}\n`);
    }
    return 0;
  } catch (error) {
    return reportDeployError("logs", error, io);
  }
}
