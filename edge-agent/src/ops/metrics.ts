import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { AttemptOutcome, WorkerMetrics } from "../events.ts";

/**
 * The agent's Prometheus metrics, in a registry of its own (no global
 * state): running tasks, tasks by outcome, task duration, receive latency,
 * heartbeat failures, dead letters, plus Node's process metrics (RSS…).
 */
export class PrometheusMetrics implements WorkerMetrics {
  readonly registry = new Registry();
  private readonly tasks: Counter<"outcome">;
  private readonly duration: Histogram<"outcome">;
  private readonly receiveLatency: Histogram;
  private readonly heartbeatFailures: Counter;
  private readonly deadLetters: Counter;

  /** `running()` is read at each scrape. */
  constructor(running: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: "ferry_agent_" });
    new Gauge({
      name: "ferry_agent_running_tasks",
      help: "Steps running now.",
      registers: [this.registry],
      collect() {
        this.set(running());
      },
    });
    this.tasks = new Counter({
      name: "ferry_agent_tasks_total",
      help: "Step attempts finished, by outcome (succeeded, failed, timed-out, handed-back, task-gone, local-fault).",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: "ferry_agent_task_duration_seconds",
      help: "Duration of step attempts, from receipt to answer.",
      labelNames: ["outcome"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    this.receiveLatency = new Histogram({
      name: "ferry_agent_receive_latency_seconds",
      help: "Time receive calls took when they returned messages.",
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 20],
      registers: [this.registry],
    });
    this.heartbeatFailures = new Counter({
      name: "ferry_agent_heartbeat_failures_total",
      help: "Heartbeats that failed for a transient reason.",
      registers: [this.registry],
    });
    this.deadLetters = new Counter({
      name: "ferry_agent_dead_letters_total",
      help: "Messages moved to the dead-letter queue (malformed, unknown step, wrong site).",
      registers: [this.registry],
    });
  }

  attemptStarted(): void {}

  attemptFinished(outcome: AttemptOutcome, durationSeconds: number): void {
    this.tasks.inc({ outcome });
    this.duration.observe({ outcome }, durationSeconds);
  }

  received(_count: number, latencySeconds: number): void {
    this.receiveLatency.observe(latencySeconds);
  }

  heartbeatFailed(): void {
    this.heartbeatFailures.inc();
  }

  deadLettered(): void {
    this.deadLetters.inc();
  }
}
