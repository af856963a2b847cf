import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { InfraError } from "./errors.ts";
import { FerryWorkflow, type FerryWorkflowProps } from "./ferry-workflow.ts";
import { stackNameFor } from "./stack-name.ts";

export interface FerryWorkflowStackProps extends StackProps, FerryWorkflowProps {}

/** A stack holding one `FerryWorkflow` (construct id `Workflow`), named `ferry-<workflow>` unless told otherwise. */
export class FerryWorkflowStack extends Stack {
  readonly workflow: FerryWorkflow;

  constructor(scope: Construct, id: string | undefined, props: FerryWorkflowStackProps) {
    const { compiled } = props;
    super(scope, id ?? stackNameFor(compiled.ir.name), {
      ...props,
      description:
        props.description ??
        `Ferry workflow ${compiled.ir.name}${compiled.ir.description ? `: ${compiled.ir.description}` : ""}`.slice(
          0,
          1024,
        ),
    });
    const regions = new Set(
      Object.values(compiled.ir.sites).flatMap((s) => (s.type === "aws" && s.region ? [s.region] : [])),
    );
    if (regions.size > 1) {
      // `ferry validate` refuses this (MULTIPLE_REGIONS); a hand-built IR must not collapse regions either.
      throw new InfraError(
        "INVALID_PROP",
        this,
        `the workflow's aws sites name regions ${[...regions].join(", ")}; a stack deploys to one region — put every aws site in one region`,
      );
    }
    this.workflow = new FerryWorkflow(this, "Workflow", props);
  }
}
