import { DEFAULT_TIMEOUT_SECONDS } from "../ir/ir.ts";
import { type CheckRule, error } from "./rule.ts";

/**
 * A heartbeat the spec asks for must be shorter than the step's timeout:
 * Step Functions rejects `HeartbeatSeconds ≥ TimeoutSeconds`, and dropping
 * it would leave a lost worker undetected until the timeout.
 */
export const checkHeartbeat: CheckRule = (spec) =>
  spec.steps.flatMap((step, i) => {
    const own = step.heartbeatSeconds !== undefined;
    const heartbeat = step.heartbeatSeconds ?? spec.defaults?.heartbeatSeconds;
    if (heartbeat === undefined || heartbeat === 0) return [];
    const timeout = step.timeoutSeconds ?? spec.defaults?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (heartbeat < timeout) return [];
    const timeoutFrom =
      step.timeoutSeconds !== undefined
        ? "its timeoutSeconds"
        : spec.defaults?.timeoutSeconds !== undefined
          ? "defaults.timeoutSeconds"
          : "the default timeoutSeconds";
    return [
      error(
        "INVALID_HEARTBEAT",
        own
          ? ["steps", i, "heartbeatSeconds"]
          : step.timeoutSeconds !== undefined
            ? ["steps", i, "timeoutSeconds"]
            : ["defaults", "heartbeatSeconds"],
        `${own ? "" : `step "${step.name}": `}heartbeatSeconds=${heartbeat} is not shorter than ${timeoutFrom} (${timeout}); Step Functions requires HeartbeatSeconds < TimeoutSeconds`,
        `set heartbeatSeconds below ${timeout} (e.g. ${Math.max(1, Math.floor(timeout / 3))}), or raise ${own || step.timeoutSeconds !== undefined ? `steps[${i}].timeoutSeconds` : "defaults.timeoutSeconds"}`,
      ),
    ];
  });
