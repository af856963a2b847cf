import { didYouMean, parseSpecText, schemaIssuesToDiagnostics } from "@ferry/dsl-compiler";
import { locateDiagnostics, type SimDiagnostic, simError } from "../diagnostics.ts";
import { type Latency, resolveLatency } from "./latency.ts";
import {
  DEFAULT_FARGATE_MAX_TASKS,
  DEFAULT_FARGATE_SCALE_IN_SECONDS,
  DEFAULT_FARGATE_START,
  DEFAULT_LAMBDA_COLD_START,
  DEFAULT_LAMBDA_CONCURRENCY,
  DEFAULT_LAMBDA_KEEP_WARM_SECONDS,
  DEFAULT_PRICES,
  type Prices,
  RUNTIME_MODELS,
  type RuntimeModel,
} from "./service-defaults.ts";
import {
  DEFAULT_MTTR_SECONDS,
  type Device,
  type Topology,
  type TopologyLink,
  type TopologySite,
} from "./topology.ts";
import { TopologySchema, type TopologySiteSpec, type TopologySpec } from "./topology-schema.ts";

export interface TopologyParseResult {
  /** Present only when there are no errors. */
  topology?: Topology;
  /** Each with line and col in the topology text. */
  diagnostics: SimDiagnostic[];
}

/** Parses, validates and resolves topology text (YAML or JSON). Never throws on user input. */
export function parseTopology(text: string): TopologyParseResult {
  const parsed = parseSpecText(text);
  if (!parsed.spec) return { diagnostics: parsed.diagnostics.map((d) => ({ ...d, source: "topology" })) };
  const { value, locate } = parsed.spec;
  const result = TopologySchema.safeParse(value, { reportInput: false });
  if (!result.success) {
    const issues = schemaIssuesToDiagnostics(result.error.issues, TopologySchema, value).map(
      (d): SimDiagnostic => ({
        ...d,
        source: "topology",
        ...(d.code === "NOT_AN_OBJECT"
          ? {
              message: d.message.replace("workflow spec", "topology"),
              hint: "start from simulator/examples/pi-cluster.topology.yaml",
            }
          : {}),
      }),
    );
    return { diagnostics: sortByPosition(locateDiagnostics(issues, "topology", locate)) };
  }
  const diagnostics = sortByPosition(locateDiagnostics(checkTopology(result.data), "topology", locate));
  if (diagnostics.some((d) => d.severity === "error")) return { diagnostics };
  return { topology: resolveTopology(result.data), diagnostics };
}

function checkTopology(spec: TopologySpec): SimDiagnostic[] {
  const out: SimDiagnostic[] = [];
  const siteNames = Object.keys(spec.sites);
  const seen = new Map<string, number>();
  spec.links.forEach((link, i) => {
    for (const end of ["from", "to"] as const) {
      if (!spec.sites[link[end]]) {
        out.push(
          simError(
            "topology",
            "UNKNOWN_LINK_SITE",
            ["links", i, end],
            `unknown site "${link[end]}"`,
            didYouMean(link[end], siteNames) ?? `sites: ${siteNames.join(", ")}`,
          ),
        );
      }
    }
    if (link.from === link.to) {
      out.push(
        simError(
          "topology",
          "INVALID_VALUE",
          ["links", i, "to"],
          `a link joins two different sites, got "${link.to}" twice`,
          "traffic inside a site is not modelled; remove the link",
        ),
      );
    }
    for (const key of directions(link.from, link.to, link.bidirectional)) {
      const first = seen.get(key);
      if (first !== undefined) {
        out.push(
          simError(
            "topology",
            "DUPLICATE_LINK",
            ["links", i],
            `link ${key.replace("\u0000", " → ")} is already declared by links[${first}]`,
            "declare each direction once",
          ),
        );
      } else seen.set(key, i);
    }
  });
  for (const [name, site] of Object.entries(spec.sites)) {
    if (site.type !== "edge") continue;
    const groups = new Map<string, number>();
    site.devices.forEach((device, i) => {
      const group = groupName(site.devices.length, device.name, i);
      const first = groups.get(group);
      if (first !== undefined) {
        out.push(
          simError(
            "topology",
            "INVALID_VALUE",
            ["sites", name, "devices", i, "name"],
            `device name "${group}" is already used by devices[${first}]`,
            "give each device group its own name",
          ),
        );
      } else groups.set(group, i);
    });
  }
  return out;
}

function directions(from: string, to: string, bidirectional: boolean): string[] {
  return bidirectional ? [`${from}\u0000${to}`, `${to}\u0000${from}`] : [`${from}\u0000${to}`];
}

function groupName(groups: number, name: string | undefined, index: number): string {
  return name ?? (groups === 1 ? "device" : `device${index + 1}`);
}

function resolveTopology(spec: TopologySpec): Topology {
  const prices: Prices = { ...DEFAULT_PRICES, ...definedOnly(spec.prices ?? {}) };
  const sites: Record<string, TopologySite> = {};
  const runtime = RUNTIME_MODELS[spec.runtime];
  for (const [name, site] of Object.entries(spec.sites)) sites[name] = resolveSite(name, site, runtime);
  const links: TopologyLink[] = spec.links.flatMap((link, specIndex) => {
    const base = { bandwidthMbps: link.bandwidthMbps, latencySeconds: link.latencyMs / 1000, specIndex };
    const price = (from: string) =>
      link.pricePerGB ?? (spec.sites[from]?.type === "aws" ? prices.transferOutPerGb : 0);
    const forward = { ...base, from: link.from, to: link.to, pricePerGB: price(link.from) };
    return link.bidirectional
      ? [forward, { ...base, from: link.to, to: link.from, pricePerGB: price(link.to) }]
      : [forward];
  });
  return {
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    runtime: spec.runtime,
    sites,
    links,
    orchestration: {
      stateTransition: resolveLatency(spec.orchestration?.stateTransition ?? runtime.stateTransition),
      sqsReceive: resolveLatency(spec.orchestration?.sqsReceive ?? runtime.sqsReceive),
    },
    orchestrationSources: {
      stateTransition: spec.orchestration?.stateTransition ? "topology" : "runtime",
      sqsReceive: spec.orchestration?.sqsReceive ? "topology" : "runtime",
    },
    prices,
  };
}

function resolveSite(name: string, site: TopologySiteSpec, runtime: RuntimeModel): TopologySite {
  const dispatch: { dispatchLatency?: Latency } = site.dispatchLatency
    ? { dispatchLatency: resolveLatency(site.dispatchLatency) }
    : {};
  if (site.type === "aws") {
    return {
      name,
      type: "aws",
      lambda: {
        coldStart: resolveLatency(site.lambda?.coldStart ?? DEFAULT_LAMBDA_COLD_START),
        concurrency: site.lambda?.concurrency ?? DEFAULT_LAMBDA_CONCURRENCY,
        keepWarmSeconds: site.lambda?.keepWarmSeconds ?? DEFAULT_LAMBDA_KEEP_WARM_SECONDS,
        speed: site.lambda?.speed ?? 1,
      },
      fargate: {
        start: resolveLatency(site.fargate?.start ?? DEFAULT_FARGATE_START),
        maxTasks: site.fargate?.maxTasks ?? DEFAULT_FARGATE_MAX_TASKS,
        scaleInSeconds: site.fargate?.scaleInSeconds ?? DEFAULT_FARGATE_SCALE_IN_SECONDS,
        speed: site.fargate?.speed ?? 1,
      },
      ...dispatch,
    };
  }
  const devices: Device[] = site.devices.flatMap((group, groupIndex) => {
    const base = groupName(site.devices.length, group.name, groupIndex);
    return Array.from(
      { length: group.count },
      (_, k): Device => ({
        id: group.count === 1 ? base : `${base}-${k + 1}`,
        groupIndex,
        slots: group.slots,
        speed: group.speed,
        memoryMiB: group.memoryMiB ?? Number.POSITIVE_INFINITY,
        gpu: group.gpu,
        costPerHour: group.costPerHour,
        ...(group.failure ? { failure: resolveFailure(group.failure) } : {}),
      }),
    );
  });
  const start = site.startOverhead ?? runtime.processStart;
  const startOverhead = { fixedSeconds: start.ms / 1000, serialSeconds: start.serialMs / 1000 };
  const edgeDispatch =
    !site.dispatchLatency && runtime.edgeDispatch
      ? { dispatchLatency: resolveLatency(runtime.edgeDispatch) }
      : dispatch;
  return {
    name,
    type: "edge",
    devices,
    ...edgeDispatch,
    ...(startOverhead.fixedSeconds + startOverhead.serialSeconds > 0 || site.startOverhead
      ? { startOverhead }
      : {}),
    sources: {
      ...(site.dispatchLatency
        ? { dispatchLatency: "topology" }
        : runtime.edgeDispatch
          ? { dispatchLatency: "runtime" }
          : {}),
      startOverhead: site.startOverhead ? "topology" : "runtime",
    },
  };
}

function resolveFailure(failure: {
  mtbfSeconds?: number;
  availability?: number;
  mttrSeconds?: number;
}): Device["failure"] {
  const mttrSeconds = failure.mttrSeconds ?? DEFAULT_MTTR_SECONDS;
  if (failure.mtbfSeconds !== undefined) return { mtbfSeconds: failure.mtbfSeconds, mttrSeconds };
  const a = failure.availability!;
  // availability = MTBF / (MTBF + MTTR); a device that is always up never fails.
  return a >= 1 ? undefined : { mtbfSeconds: (a * mttrSeconds) / (1 - a), mttrSeconds };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sortByPosition(diagnostics: SimDiagnostic[]): SimDiagnostic[] {
  return diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
