import { slotRef } from "@ferry/dsl-compiler";
import { describe, expect, it } from "vitest";
import { slotsUsed, slotTargets } from "./definition-slots.ts";

describe("definition slots", () => {
  it("maps every slot of the compiler's substitutions to what it stands for", () => {
    const targets = slotTargets({
      jobBucket: "JobBucket",
      joinTable: "JoinTable",
      queues: { "site-lab": "QueueUrl_site_lab" },
      httpConnections: { notify: "HttpConnection_notify" },
      childStateMachines: { "child-1": "Child_1" },
    });
    expect(Object.fromEntries(targets)).toEqual({
      JobBucket: { kind: "job-bucket" },
      JoinTable: { kind: "join-table" },
      QueueUrl_site_lab: { kind: "queue", queueId: "site-lab" },
      HttpConnection_notify: { kind: "http-connection", step: "notify" },
      Child_1: { kind: "child-state-machine", machineId: "child-1" },
    });
  });

  it("lists the slots a definition uses, once each, ignoring JSONPath and intrinsics", () => {
    const json = JSON.stringify({
      a: slotRef("QueueUrl_x"),
      b: { c: slotRef("JobBucket"), "d.$": "States.Format('{}', $.x)" },
      e: slotRef("QueueUrl_x"),
    });
    expect(slotsUsed(json)).toEqual(["QueueUrl_x", "JobBucket"]);
  });
});
