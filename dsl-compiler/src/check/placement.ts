import { type CheckRule, error, everyStep } from "./rule.ts";

/** What the cloud services behind an `aws` site cannot do. */
export const checkPlacement: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path: at }) => {
    const site = spec.sites[step.site];
    if (site?.type !== "aws") return [];
    const out = [];
    if ((step.resources?.gpu ?? 0) > 0 && (step.container || step.process)) {
      out.push(
        error(
          "UNSUPPORTED_PLACEMENT",
          [...at, "resources", "gpu"],
          `Fargate, which runs ${step.container ? "container" : "process"} steps on site "${step.site}", has no GPUs`,
          "place the step on an edge site that has a GPU",
        ),
      );
    }
    if (step.process) {
      out.push(
        error(
          "UNSUPPORTED_PLACEMENT",
          [...at, "process"],
          `a process step on aws site "${step.site}" has no image to run in: Fargate runs each step in its own container image`,
          "use container: { image, command } with an image that has the program, or place the step on an edge site",
        ),
      );
    }
    if (step.container && !step.container.command?.length && !step.container.entrypoint?.length) {
      out.push(
        error(
          "UNSUPPORTED_PLACEMENT",
          [...at, "container"],
          `a container step on aws site "${step.site}" must name its command: on Fargate, Ferry's agent is the container's entry point and runs the step's command, and it cannot read the image's default CMD`,
          'add command: [...] (and entrypoint: [...] if the image has one), e.g. command: ["python", "main.py"]',
        ),
      );
    }
    if (step.container?.network === "host") {
      out.push(
        error(
          "UNSUPPORTED_PLACEMENT",
          [...at, "container", "network"],
          'Fargate supports only awsvpc networking, not "host"',
          "use network: bridge (outbound access) or place the step on an edge site",
        ),
      );
    }
    if (step.container?.volumes?.length) {
      out.push(
        error(
          "UNSUPPORTED_PLACEMENT",
          [...at, "container", "volumes"],
          "host volumes do not exist on Fargate",
          "pass data as job files (inputs/outputs), or place the step on an edge site",
        ),
      );
    }
    return out;
  });
