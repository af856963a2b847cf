import { afterEach, describe, expect, it } from "vitest";
import { PrometheusMetrics } from "./metrics.ts";
import { OpsServer } from "./ops-server.ts";

describe("OpsServer", () => {
  let server: OpsServer | undefined;
  afterEach(() => server?.close());

  it("serves /healthz from the workers' state and /metrics in Prometheus text", async () => {
    let healthy = true;
    const metrics = new PrometheusMetrics(() => 3);
    metrics.attemptFinished("succeeded", 0.2);
    metrics.attemptFinished("failed", 1.5);
    metrics.heartbeatFailed();
    server = new OpsServer({
      host: "127.0.0.1",
      port: 0,
      registry: metrics.registry,
      health: () => ({ healthy }),
    });
    const port = await server.listen();

    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    healthy = false;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);

    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain("ferry_agent_running_tasks 3");
    expect(text).toContain('ferry_agent_tasks_total{outcome="succeeded"} 1');
    expect(text).toContain('ferry_agent_task_duration_seconds_bucket{le="5",outcome="failed"} 1');
    expect(text).toContain("ferry_agent_heartbeat_failures_total 1");
    expect(text).toContain("ferry_agent_process_resident_memory_bytes");
  });
});
