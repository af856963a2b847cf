import { useEffect, useState } from "preact/hooks";
import type { LogFile, RunView, StepView } from "../run-view.ts";
import { getLogs } from "./api.ts";
import { duration, pretty, when } from "./format.ts";

export function StepPanel(props: {
  run: RunView;
  members: StepView[];
  onSelect(step: string): void;
  onResume: (() => void) | undefined;
}) {
  if (props.members.length !== 1)
    return (
      <aside class="step-panel" aria-label="Steps of the group">
        <h2>{props.members.length} steps</h2>
        <ul class="members">
          {props.members.map((m) => (
            <li key={m.name}>
              <button type="button" class="link" onClick={() => props.onSelect(m.name)}>
                {m.name}
              </button>{" "}
              <span class={`badge s-${m.status}`}>{m.status}</span>
            </li>
          ))}
        </ul>
      </aside>
    );
  return <OneStep {...props} step={props.members[0]!} />;
}

function OneStep(props: { run: RunView; step: StepView; onResume: (() => void) | undefined }) {
  const { run, step } = props;
  const [logs, setLogs] = useState<LogFile[] | undefined>();
  const [logError, setLogError] = useState<string | undefined>();
  useEffect(() => {
    setLogs(undefined);
    setLogError(undefined);
    getLogs(run.id, step.name)
      .then((r) => setLogs(r.logs))
      .catch((e: Error) => setLogError(e.message));
  }, [run.id, step.name, step.status, step.attempts]);
  return (
    <aside class="step-panel" aria-label={`Step ${step.name}`}>
      <h2>
        {step.name} <span class={`badge s-${step.status}`}>{step.status}</span>
      </h2>
      <dl>
        <dt>Site</dt>
        <dd>{step.site ?? "—"}</dd>
        <dt>Depends on</dt>
        <dd>{step.depends.join(", ") || "—"}</dd>
        <dt>Attempts</dt>
        <dd>{step.attempts}</dd>
        {step.startedAt && (
          <>
            <dt>Ran</dt>
            <dd>
              {when(step.startedAt)}
              {step.finishedAt
                ? ` for ${duration(Date.parse(step.finishedAt) - Date.parse(step.startedAt))}`
                : ""}
            </dd>
          </>
        )}
        {step.reused && (
          <>
            <dt>Reused</dt>
            <dd>the earlier run's output</dd>
          </>
        )}
      </dl>
      {step.error && (
        <div class="error" role="alert">
          <strong>{step.error}</strong>
          <pre>{step.cause}</pre>
          {props.onResume && step.status === "FAILED" && (
            <button type="button" onClick={props.onResume} title={run.retryNote}>
              Retry this step (resume the run)
            </button>
          )}
        </div>
      )}
      {step.attemptList.length > 0 && (
        <table class="attempts">
          <caption>Attempts</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Outcome</th>
              <th scope="col">Runtime</th>
              <th scope="col">Exit</th>
              <th scope="col">Took</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {step.attemptList.map((a, i) => (
              <tr key={`${a.attempt}-${i}`}>
                <td>{a.attempt}</td>
                <td>{a.outcome ?? ""}</td>
                <td>{a.runtime ?? ""}</td>
                <td>{a.exitCode ?? ""}</td>
                <td>
                  {a.startedAt && a.finishedAt
                    ? duration(Date.parse(a.finishedAt) - Date.parse(a.startedAt))
                    : ""}
                </td>
                <td>{a.error ? `${a.error}: ${a.cause ?? ""}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <details open={step.input !== undefined}>
        <summary>Input</summary>
        <pre class="json">{step.input === undefined ? "not recorded" : pretty(step.input)}</pre>
      </details>
      <details open={step.output !== undefined}>
        <summary>Output</summary>
        <pre class="json">{step.output === undefined ? "none yet" : pretty(step.output)}</pre>
      </details>
      <h3>Log</h3>
      {logError && <p role="alert">{logError}</p>}
      {!logs ? (
        <p>Loading…</p>
      ) : logs.length === 0 ? (
        <p>No log yet.</p>
      ) : (
        logs.map((l) => (
          <figure key={l.name} class="log">
            <figcaption>
              {l.name}
              {l.truncatedBytes > 0 ? ` (first ${l.truncatedBytes} bytes left out)` : ""}
            </figcaption>
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must be reachable by keyboard (axe: scrollable-region-focusable) */}
            <pre tabIndex={0}>{l.text}</pre>
          </figure>
        ))
      )}
    </aside>
  );
}
