import { describe, expect, it } from "vitest";
import { stepMessage as baseMessage } from "../testing.ts";
import { executionNameOf, messageScopeProblem } from "./message-scope.ts";

/** A message with the prefix the state machine gives: `<workflow>/<execution name>/`. */
function stepMessage(fields: { workflow: string; step: string; execution: string }) {
  const prefix = `${fields.workflow}/${fields.execution.split(":").pop()}/`;
  return baseMessage({ ...fields, jobFiles: { bucket: "local", prefix } });
}

const arn = "arn:aws:states:us-east-1:123456789012:execution:wf-machine:run-42";

describe("message scope", () => {
  it("given an execution ARN, then its name is the last segment", () => {
    expect(executionNameOf(arn)).toBe("run-42");
    expect(executionNameOf("local:wf:3f2a")).toBe("3f2a");
    expect(executionNameOf("../../etc")).toBeUndefined();
    expect(executionNameOf("a b")).toBeUndefined();
  });

  it("given the deployment's prefix and bucket, then the message is in scope", () => {
    const message = stepMessage({ workflow: "wf", step: "s", execution: arn });
    expect(message.jobFiles.prefix).toBe("wf/run-42/");
    expect(
      messageScopeProblem(
        { ...message, jobFiles: { bucket: "jobs", prefix: "wf/run-42/" } },
        { jobBuckets: ["jobs"] },
      ),
    ).toBeUndefined();
  });

  it("given a foreign bucket, another execution's prefix or a reference outside, then it names the problem", () => {
    const base = stepMessage({ workflow: "wf", step: "s", execution: arn });
    expect(
      messageScopeProblem(
        { ...base, jobFiles: { bucket: "theirs", prefix: "wf/run-42/" } },
        { jobBuckets: ["jobs"] },
      ),
    ).toMatch(/jobFiles.bucket "theirs"/);
    expect(messageScopeProblem({ ...base, jobFiles: { bucket: "jobs", prefix: "wf/run-41/" } }, {})).toMatch(
      /jobFiles.prefix "wf\/run-41\/"/,
    );
    // ".." passes the name rule but is no key segment: the prefix could climb out of the workflow's.
    expect(
      messageScopeProblem(
        {
          ...base,
          execution: `${arn.slice(0, arn.lastIndexOf(":"))}:..`,
          jobFiles: { bucket: "jobs", prefix: "wf/../" },
        },
        {},
      ),
    ).toMatch(/no job-files prefix can be made/);
    const ref = {
      ferryOutputRef: {
        bucket: "jobs",
        prefix: "other/run-1/",
        site: "lab",
        name: ".ferry/outputs/a/x.json",
        sizeBytes: 1,
      },
    };
    expect(
      messageScopeProblem(
        {
          ...base,
          jobFiles: { bucket: "jobs", prefix: "wf/run-42/" },
          input: { input: {}, deps: { a: ref } },
        },
        {},
      ),
    ).toMatch(/input.deps.a: output reference/);
    const within = (site: string, name: string) => ({
      ...base,
      jobFiles: { bucket: "jobs", prefix: "wf/run-42/" },
      input: {
        input: {},
        deps: { a: { ferryOutputRef: { bucket: "jobs", prefix: "wf/run-42/", site, name, sizeBytes: 1 } } },
      },
    });
    expect(messageScopeProblem(within("lab", ".ferry/outputs/a/0123abcd.json"), {})).toBeUndefined();
    // Another step's output, a job file, a climb out of the folder, a site that is no key segment.
    for (const [site, name] of [
      ["lab", ".ferry/outputs/b/0123abcd.json"],
      ["lab", "secrets.txt"],
      ["lab", ".ferry/outputs/a/../../../other/x.json"],
      ["../plant", ".ferry/outputs/a/0123abcd.json"],
    ] as const) {
      expect(messageScopeProblem(within(site, name), {}), `${site} ${name}`).toMatch(
        /is not a stored output of that step/,
      );
    }
  });

  it("given a foreach results reference, then it must name a map run manifest of that dependency in this execution", () => {
    const base = stepMessage({ workflow: "wf", step: "s", execution: arn });
    const withRef = (manifest: string, bucket = base.jobFiles.bucket) => ({
      ...base,
      input: { ...base.input, deps: { each: { ferryForeachResults: { bucket, manifest } } } },
    });
    expect(
      messageScopeProblem(withRef("wf/lab/run-42/.ferry/foreach/each/abc/manifest.json"), {}),
    ).toBeUndefined();
    for (const bad of [
      "wf/lab/run-41/.ferry/foreach/each/abc/manifest.json",
      "wf/lab/run-42/.ferry/foreach/other/abc/manifest.json",
      "wf/lab/run-42/.ferry/foreach/each/abc/SUCCEEDED_0.json",
      "wf/lab/run-42/.ferry/foreach/each/a/b/manifest.json",
      "wf/../run-42/.ferry/foreach/each/abc/manifest.json",
    ])
      expect(messageScopeProblem(withRef(bad), {}), bad).toMatch(/input\.deps\.each: foreach results/);
    expect(
      messageScopeProblem(withRef("wf/lab/run-42/.ferry/foreach/each/abc/manifest.json", "theirs"), {}),
    ).toMatch(/another bucket/);
  });
});
