import { createHash } from "node:crypto";
import { recordFormatOf } from "../check/foreach.ts";
import { triggerName } from "../check/triggers.ts";
import {
  DURATION_PATTERN,
  type SideStepSpec,
  type StepSpec,
  type TriggerSpec,
  type WorkflowSpec,
} from "../schema/spec.ts";
import { topologicalOrder } from "./graph.ts";
import {
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RESOURCES,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_SECONDS,
  type Executor,
  type IrCache,
  type IrForeach,
  type IrItemReader,
  type IrQueue,
  type IrRuntime,
  type IrSite,
  type IrStep,
  type IrTrigger,
  type WorkflowIr,
} from "./ir.ts";
import { foreachReads, jobFileProducers, upstreamWriters } from "./job-file-producers.ts";

type ForeachSpec = NonNullable<StepSpec["foreach"]>;

/**
 * Builds the IR from a spec that passed the schema and every check rule.
 * Throws only on a broken invariant (a caller skipped the checks).
 */
export function buildIr(spec: WorkflowSpec): WorkflowIr {
  const sites: Record<string, IrSite> = {};
  for (const [name, site] of Object.entries(spec.sites)) {
    sites[name] = {
      name,
      type: site.type,
      labels: { ...(site.labels ?? {}) },
      ...(site.type === "aws" ? { region: site.region } : {}),
    };
  }
  const index = new Map(spec.steps.map((s, i) => [s.name, i]));
  const order = topologicalOrder(spec.steps.map((s) => s.depends.map((d) => index.get(d)!)));
  if (!order) throw new Error("buildIr: the spec has a dependency cycle; run checkSpec first");

  const dependents = new Map<string, string[]>(spec.steps.map((s) => [s.name, []]));
  for (const i of order) for (const d of spec.steps[i]!.depends) dependents.get(d)!.push(spec.steps[i]!.name);

  const steps = order.map((i) =>
    buildStep(spec, spec.steps[i]!, i, sites, dependents.get(spec.steps[i]!.name)!),
  );
  const side = (list: SideStepSpec[] | undefined, phase: "handler" | "finally") =>
    (list ?? []).map((s, i) => ({
      ...buildStep(spec, { ...s, depends: [] }, i, sites, [], true),
      phase,
    }));
  const all = [...steps, ...side(spec.handlers, "handler"), ...side(spec.finally, "finally")];
  const producers = jobFileProducers(
    spec.steps,
    all.filter((s) => s.phase !== undefined),
  );
  const siteOf = new Map(all.map((s) => [s.name, s.site]));
  for (const step of all) {
    // checkJobFiles has made each input's producer unique.
    for (const [input, from] of producers.get(step.name) ?? [])
      step.inputSites[input] = siteOf.get(from[0]!)!;
  }
  return {
    irVersion: 1,
    name: spec.name,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    sites,
    steps: all,
    ...(spec.input ? { input: spec.input } : {}),
    queues: collectQueues(all),
    sinks: steps.filter((s) => s.dependents.length === 0).map((s) => s.name),
    ...(spec.triggers && spec.triggers.length > 0 ? { triggers: spec.triggers.map(buildTrigger) } : {}),
    ...(spec.notify
      ? {
          notify: spec.notify.http
            ? { http: { url: spec.notify.http.url, secretRef: spec.notify.http.secret.secret } }
            : {
                sns: typeof spec.notify.sns === "string" ? { topicArn: spec.notify.sns } : { create: true },
              },
        }
      : {}),
  };
}

function buildTrigger(trigger: TriggerSpec, specIndex: number): IrTrigger {
  const source: IrTrigger["source"] =
    trigger.schedule !== undefined
      ? { kind: "schedule", expression: trigger.schedule }
      : trigger.s3
        ? { kind: "s3", ...definedOnly(trigger.s3) }
        : trigger.event
          ? { kind: "event", pattern: trigger.event }
          : (() => {
              throw new Error(`buildIr: trigger ${specIndex} has no kind; run checkSpec first`);
            })();
  return {
    name: triggerName(trigger, specIndex),
    specIndex,
    ...(trigger.description !== undefined ? { description: trigger.description } : {}),
    enabled: trigger.enabled,
    source,
    ...(trigger.input !== undefined ? { input: trigger.input } : {}),
  };
}

function buildStep(
  spec: WorkflowSpec,
  step: SideStepSpec & Partial<Pick<StepSpec, "foreach" | "onFailure">> & { depends: string[] },
  specIndex: number,
  sites: Record<string, IrSite>,
  dependents: string[],
  /** Handlers and finally steps take no onFailure: their own failure fails the run. */
  sideStep = false,
): IrStep {
  const site = sites[step.site]!;
  const runtime = resolveRuntime(step);
  const executor = executorFor(site.type, runtime.kind);
  const timeoutSeconds = step.timeoutSeconds ?? spec.defaults?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const heartbeat =
    step.heartbeatSeconds ??
    spec.defaults?.heartbeatSeconds ??
    (executor === "http-task" ? undefined : DEFAULT_HEARTBEAT_SECONDS);
  const retry = step.retry ?? spec.defaults?.retry ?? DEFAULT_RETRY;
  const onFailure = sideStep ? undefined : (step.onFailure ?? spec.defaults?.onFailure);
  return {
    name: step.name,
    ...(step.description !== undefined ? { description: step.description } : {}),
    specIndex,
    site: site.name,
    siteType: site.type,
    runtime,
    executor,
    ...(executor === "http-task" ? {} : { queue: queueId(executor, site.name, step.name, runtime) }),
    depends: [...step.depends],
    dependents,
    resources: { ...DEFAULT_RESOURCES, ...definedOnly(step.resources ?? {}) },
    retry: { ...DEFAULT_RETRY, ...definedOnly(retry) },
    timeoutSeconds,
    // The default heartbeat gives way to a shorter timeout; one the spec asks for is checked by checkHeartbeat.
    ...(heartbeat !== undefined && heartbeat > 0 && heartbeat < timeoutSeconds
      ? { heartbeatSeconds: heartbeat }
      : {}),
    ...(step.foreach ? { foreach: buildForeach(spec, step.name, step.foreach) } : {}),
    inputs: step.inputs ?? [],
    inputSites: {},
    outputs: step.outputs ?? [],
    // defaults.cache leaves HTTP steps alone: Step Functions calls them, no worker could answer from a cache.
    cache: resolveCache(step.cache ?? (runtime.kind === "http" ? undefined : spec.defaults?.cache)),
    requires: { ...(step.requires?.labels ?? {}) },
    hints: { ...(step.hints ?? {}) },
    ...(onFailure === undefined || onFailure === "fail"
      ? {}
      : {
          onFailure: onFailure === "continue" ? { kind: "continue" } : { kind: "handler", step: onFailure },
        }),
  };
}

function resolveCache(cache: StepSpec["cache"]): IrCache {
  if (typeof cache !== "object") return { enabled: cache ?? false };
  return {
    enabled: cache.enabled,
    ...(cache.ttl !== undefined ? { ttlSeconds: durationSeconds(cache.ttl) } : {}),
    ...(cache.key ? { key: cache.key } : {}),
  };
}

const DURATION_UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** A duration the schema accepted (`DURATION_PATTERN`) in seconds. */
export function durationSeconds(duration: string): number {
  const [, count, unit] = DURATION_PATTERN.exec(duration)!;
  return Number(count) * DURATION_UNIT_SECONDS[unit as keyof typeof DURATION_UNIT_SECONDS];
}

/** checkForeach has made the source unique and its writers one site's. */
function buildForeach(spec: WorkflowSpec, stepName: string, foreach: ForeachSpec): IrForeach {
  if (foreach.items !== undefined)
    return { mode: "inline", items: foreach.items, maxConcurrency: foreach.maxConcurrency };
  const writer = upstreamWriters(spec.steps, stepName, foreachReads(foreach))[0]!;
  const reader: IrItemReader =
    foreach.files !== undefined
      ? { kind: "files", prefix: foreach.files }
      : {
          kind: "records",
          file: foreach.records!,
          format: foreach.format ?? recordFormatOf(foreach.records!)!,
        };
  return {
    mode: "distributed",
    reader,
    readSite: spec.steps.find((s) => s.name === writer)!.site,
    maxConcurrency: foreach.maxConcurrency,
    toleratedFailurePercentage: foreach.toleratedFailurePercentage ?? 0,
    ...(foreach.batch
      ? {
          batch: {
            ...(foreach.batch.maxItems !== undefined ? { maxItems: foreach.batch.maxItems } : {}),
            ...(foreach.batch.maxBytes !== undefined ? { maxBytes: foreach.batch.maxBytes } : {}),
            input: foreach.batch.input ?? {},
          },
        }
      : {}),
  };
}

function resolveRuntime(step: StepSpec): IrRuntime {
  if (step.process) return { kind: "process", ...step.process, env: step.process.env ?? {} };
  if (step.container) {
    const { allowHost, ...container } = step.container;
    return {
      kind: "container",
      ...container,
      env: container.env ?? {},
      volumes: container.volumes ?? [],
      // Only when granted, so the manifests (and hashes) of other container steps stay as they were.
      ...(allowHost ? { allowHost: true as const } : {}),
    };
  }
  if (step.function) {
    const [file, exportName] = step.function.handler.split("#") as [string, string];
    return { kind: "function", ...step.function, file, exportName, env: step.function.env ?? {} };
  }
  if (step.http) return { kind: "http", ...step.http, headers: step.http.headers ?? {} };
  throw new Error(`buildIr: step "${step.name}" has no runtime; run checkSpec first`);
}

/** On an edge site the agent runs everything; on AWS each runtime maps to its service. */
export function executorFor(siteType: "aws" | "edge", kind: IrRuntime["kind"]): Executor {
  if (siteType === "edge") return "agent";
  if (kind === "function") return "lambda";
  if (kind === "http") return "http-task";
  return "fargate";
}

function queueId(
  executor: Exclude<Executor, "http-task">,
  site: string,
  step: string,
  runtime: IrRuntime,
): string {
  // A Lambda event source mapping feeds one function, so each function step gets its own queue.
  if (executor === "lambda") return `fn-${step}`;
  if (executor === "fargate") return fargateQueueId(site, runtime.kind === "container" ? runtime.image : "");
  return `site-${site}`;
}

/**
 * One Fargate pool per (aws site, step image): its tasks run that image, with
 * Ferry's agent injected as the entry point, so a pool only serves steps of
 * its image. The id stays readable (`fargate-cloud-busybox-1-3f2a9c`); the
 * hash keeps images that read alike apart.
 */
export function fargateQueueId(site: string, image: string): string {
  const slug = image
    .toLowerCase()
    .replace(/@sha256:.*$/, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 24)
    .replace(/-+$/, "");
  const hash = createHash("sha256").update(image).digest("hex").slice(0, 6);
  return `fargate-${site}-${slug ? `${slug}-` : ""}${hash}`;
}

function collectQueues(steps: IrStep[]): IrQueue[] {
  const queues = new Map<string, IrQueue>();
  for (const step of steps) {
    if (!step.queue || step.executor === "http-task") continue;
    const queue = queues.get(step.queue) ?? {
      id: step.queue,
      site: step.site,
      executor: step.executor,
      steps: [],
    };
    queue.steps.push(step.name);
    queues.set(step.queue, queue);
  }
  return [...queues.values()];
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
