import { useEffect, useMemo, useState } from "preact/hooks";
import type { GraphLayout, Prediction, RunView, StepView } from "../run-view.ts";
import { act, getGraph, getPrediction, getRun, streamUrl } from "./api.ts";
import { Dag } from "./dag.tsx";
import { duration, when } from "./format.ts";
import { Gantt } from "./gantt.tsx";
import { navigate } from "./nav.ts";
import { StepPanel } from "./step-panel.tsx";

export function RunPage({ id }: { id: string }) {
  const [run, setRun] = useState<RunView | undefined>();
  const [graph, setGraph] = useState<GraphLayout | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<string[] | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [prediction, setPrediction] = useState<Prediction | undefined>();
  const [predictionNote, setPredictionNote] = useState<string | undefined>();

  useEffect(() => {
    let source: EventSource | undefined;
    setRun(undefined);
    setGraph(undefined);
    setSelected(undefined);
    getRun(id)
      .then((r) => {
        setRun(r);
        if (r.status !== "RUNNING") return;
        source = new EventSource(streamUrl(id));
        source.addEventListener("steps", (e) => {
          const changed = JSON.parse((e as MessageEvent<string>).data) as StepView[];
          setRun((current) => {
            if (!current) return current;
            const byName = new Map(changed.map((s) => [s.name, s]));
            return { ...current, steps: current.steps.map((s) => byName.get(s.name) ?? s) };
          });
        });
        source.addEventListener("failure", (e) => {
          setNotice(
            `live updates stopped: ${(JSON.parse((e as MessageEvent<string>).data) as { error: string }).error}`,
          );
          source?.close();
        });
        source.addEventListener("run", (e) => {
          setRun(JSON.parse((e as MessageEvent<string>).data) as RunView);
          source?.close();
        });
      })
      .catch((e: Error) => setError(e.message));
    getGraph(id)
      .then(setGraph)
      .catch((e: Error) => setError(e.message));
    setPrediction(undefined);
    setPredictionNote(undefined);
    getPrediction(id)
      .then(setPrediction)
      .catch((e: Error) => setPredictionNote(e.message));
    return () => source?.close();
  }, [id]);

  const steps = useMemo(() => new Map((run?.steps ?? []).map((s) => [s.name, s])), [run]);
  if (error) return <p role="alert">{error}</p>;
  if (!run) return <p>Loading run {id}…</p>;
  const counts = new Map<string, number>();
  for (const s of run.steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);

  const doAction = async (action: "cancel" | "resume" | "redrive") => {
    setBusy(true);
    setNotice(undefined);
    try {
      const { result } = await act(run.id, action);
      if (action === "resume") navigate(`/runs/${encodeURIComponent(result)}`);
      // The same execution runs again: load it afresh, live stream included.
      else if (action === "redrive") location.reload();
      else {
        setNotice(result);
        setRun(await getRun(run.id));
      }
    } catch (e) {
      setNotice(`${action} failed: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="run" aria-busy={busy}>
      <h1>
        {run.workflow} <span class={`badge s-${run.status}`}>{run.status}</span>
      </h1>
      <p class="meta">
        {run.source === "cloud" ? "execution" : "run"} <code>{run.id}</code> · started {when(run.startedAt)}
        {run.durationMs !== undefined ? ` · ${duration(run.durationMs)}` : ""}
        {run.resumedFrom ? (
          <>
            {" "}
            · resumed from{" "}
            <a
              href={`/runs/${run.resumedFrom}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/runs/${run.resumedFrom}`);
              }}
            >
              {run.resumedFrom}
            </a>
          </>
        ) : null}
      </p>
      <p class="counts" aria-live="polite">
        {[...counts].map(([s, n]) => (
          <span key={s} class={`badge s-${s}`}>
            {n} {s.toLowerCase()}
          </span>
        ))}
      </p>
      {run.error && (
        <p class="error" role="alert">
          {run.error.step ? `${run.error.step}: ` : ""}
          <strong>{run.error.error}</strong> {run.error.cause}
        </p>
      )}
      <div class="actions">
        {run.actions.cancel && (
          <button type="button" disabled={busy} onClick={() => void doAction("cancel")}>
            Cancel run
          </button>
        )}
        {run.actions.resume && (
          <button type="button" disabled={busy} onClick={() => void doAction("resume")} title={run.retryNote}>
            Resume (retry failed steps)
          </button>
        )}
        {run.actions.redrive && (
          <button type="button" disabled={busy} onClick={() => void doAction("redrive")}>
            Redrive (restart what did not succeed)
          </button>
        )}
        {notice && <span role="status">{notice}</span>}
      </div>
      <div class="panes">
        <div class="graph-pane">
          <h2>DAG{graph?.collapsed ? ` (${graph.nodes.length} nodes for ${graph.stepCount} steps)` : ""}</h2>
          {graph && graph.impliedEdges > 0 && (
            <p class="note">
              {graph.impliedEdges} dependencies implied by longer paths are not drawn (a step's details list
              all).
            </p>
          )}
          {graph ? (
            <Dag graph={graph} steps={steps} selected={selected} onSelect={setSelected} />
          ) : (
            <p>Laying out…</p>
          )}
        </div>
        {selected && (
          <StepPanel
            run={run}
            members={selected.map((n) => steps.get(n)).filter((s): s is StepView => s !== undefined)}
            onSelect={(name) => setSelected([name])}
            onResume={run.actions.resume ? () => void doAction("resume") : undefined}
          />
        )}
      </div>
      <h2>Timeline</h2>
      <Gantt run={run} prediction={prediction} />
      {predictionNote && <p class="note">{predictionNote}</p>}
    </section>
  );
}
