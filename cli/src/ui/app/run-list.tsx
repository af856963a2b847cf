import { useEffect, useState } from "preact/hooks";
import type { RunSummary } from "../run-view.ts";
import { listRuns } from "./api.ts";
import { duration, when } from "./format.ts";
import { navigate } from "./nav.ts";
import { StartForm } from "./start-form.tsx";

const STATUSES = ["", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "ABORTED"];

export function RunList() {
  const params = new URLSearchParams(location.search);
  const [workflow, setWorkflow] = useState(params.get("workflow") ?? "");
  const [status, setStatus] = useState(params.get("status") ?? "");
  const [since, setSince] = useState(params.get("since") ?? "");
  const [runs, setRuns] = useState<RunSummary[] | undefined>();
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [problems, setProblems] = useState<string[]>([]);
  useEffect(() => {
    const query = new URLSearchParams();
    if (workflow) query.set("workflow", workflow);
    if (status) query.set("status", status);
    if (since) query.set("since", new Date(since).toISOString());
    history.replaceState(null, "", query.size ? `/?${query}` : "/");
    let live = true;
    const load = () =>
      listRuns(query).then((r) => {
        if (!live) return;
        setRuns(r.runs);
        setProblems(r.problems);
        setWorkflows((w) => [...new Set([...w, ...r.runs.map((x) => x.workflow)])].sort());
      });
    void load();
    const timer = setInterval(load, 3000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [workflow, status, since]);
  return (
    <section>
      <h1>Runs</h1>
      <StartForm />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Workflow
          <select value={workflow} onChange={(e) => setWorkflow(e.currentTarget.value)}>
            <option value="">all</option>
            {workflows.map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "all"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started after
          <input type="datetime-local" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        </label>
      </form>
      {problems.map((p) => (
        <p role="alert" key={p}>
          {p}
        </p>
      ))}
      {!runs ? (
        <p>Loading…</p>
      ) : runs.length === 0 ? (
        <p>
          No runs match. Start one with <code>npx ferry run examples/hello/workflow.yaml</code>.
        </p>
      ) : (
        <table class="runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Workflow</th>
              <th scope="col">Source</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Steps</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <a
                    href={`/runs/${encodeURIComponent(r.id)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/runs/${encodeURIComponent(r.id)}`);
                    }}
                  >
                    {r.source === "cloud" ? r.id.split(":").at(-1) : r.id}
                  </a>
                </td>
                <td>{r.workflow}</td>
                <td>{r.source}</td>
                <td>
                  <span class={`badge s-${r.status}`}>{r.status}</span>
                  {r.failedStep ? ` at ${r.failedStep}` : ""}
                </td>
                <td>{when(r.startedAt)}</td>
                <td>{duration(r.durationMs)}</td>
                <td>{r.stepCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
