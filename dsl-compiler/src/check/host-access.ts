import { LATEST_SPEC_VERSION } from "../schema/spec.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/**
 * A container step that uses the host network or host folders says so with
 * `allowHost: true`, and `allowHost` appears on no other step. The agent
 * runs such a step only when the manifest carries `allowHost` and its own
 * config allows the network or folder (`container-hardening.ts`). On `aws`
 * sites `checkPlacement` refuses host access outright.
 */
export const checkHostAccess: CheckRule = (spec) =>
  everyStep(spec).flatMap(({ step, path: at }) => {
    const container = step.container;
    if (!container) return [];
    const asks = [
      ...(container.network === "host" ? ["network: host"] : []),
      ...(container.volumes?.length ? ["volumes (host folders)"] : []),
    ];
    const config = [
      ...(container.network === "host" ? ["containers.allowHostNetwork"] : []),
      ...(container.volumes?.length ? ["containers.allowedHostPaths"] : []),
    ];
    const where = [...at, "container"];
    if (asks.length === 0) {
      return container.allowHost === undefined
        ? []
        : [
            error(
              "HOST_ACCESS_NOT_ALLOWED",
              [...where, "allowHost"],
              "allowHost is set, but the step uses neither network: host nor volumes",
              "remove allowHost: it only permits host network and host folders",
            ),
          ];
    }
    if (container.allowHost === true || spec.sites[step.site]?.type === "aws") return [];
    return [
      error(
        "HOST_ACCESS_NOT_ALLOWED",
        [...where, container.network === "host" ? "network" : "volumes"],
        `step "${step.name}" uses ${asks.join(" and ")} but does not set allowHost: true`,
        `add allowHost: true under container (a language ${LATEST_SPEC_VERSION} field: version: "${LATEST_SPEC_VERSION}"); the agent's config must allow it too (${config.join(", ")})`,
      ),
    ];
  });
