import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessRuntime, StepUser } from "@ferry/edge-agent";
import { describeRuntimeContract, shStep } from "@ferry/edge-agent/testing";
import { afterAll } from "vitest";
import {
  createSystemUser,
  removeSystemUser,
  requireUserSwitching,
  type SystemUser,
} from "../support/step-users.ts";

// The step contract every command runtime passes, on the process runtime
// running steps as a dedicated step user (the agent being root here).
let user: SystemUser | undefined;
let stepUser: StepUser | undefined;
let root: string | undefined;

function theStepUser(): StepUser {
  if (!stepUser) {
    requireUserSwitching();
    user = createSystemUser("fsec-suite");
    stepUser = StepUser.resolve({ user: user.name });
    stepUser.assertCanSwitch();
  }
  return stepUser;
}

describeRuntimeContract("process (as a step user)", {
  kind: "process",
  runtime: () => new ProcessRuntime({ killGraceMs: 500, stepUser: theStepUser() }),
  shStep,
  root: async () => {
    root = mkdtempSync(join(tmpdir(), "ferry-step-user-suite-"));
    // The step user traverses it to its job folders under work/.
    chmodSync(root, 0o711);
    return root;
  },
  worker: () => ({ stepUser: theStepUser() }),
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  removeSystemUser(user);
});
