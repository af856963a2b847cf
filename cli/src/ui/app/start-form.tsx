import { useEffect, useState } from "preact/hooks";
import type { InputProblem, RunSourceKind, StartableSpec } from "../run-view.ts";
import { listStartable, startRun } from "./api.ts";
import { navigate } from "./nav.ts";

/** Starts one of the project's specs with JSON input; the server checks it against the spec's input: schema. */
export function StartForm() {
  const [specs, setSpecs] = useState<StartableSpec[] | undefined>();
  const [targets, setTargets] = useState<RunSourceKind[]>([]);
  const [specFile, setSpecFile] = useState("");
  const [target, setTarget] = useState<RunSourceKind>("local");
  const [input, setInput] = useState("{}");
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ error: string; problems: InputProblem[] } | undefined>();
  useEffect(() => {
    listStartable()
      .then((r) => {
        setSpecs(r.specs);
        setTargets(r.targets);
        setSpecFile((f) => f || (r.specs[0]?.specFile ?? ""));
        setTarget((t) => (r.targets.includes(t) ? t : (r.targets[0] ?? "local")));
      })
      .catch((error: Error) => setRefusal({ error: error.message, problems: [] }));
  }, []);
  if (specs && specs.length === 0) return null;
  const schema = specs?.find((s) => s.specFile === specFile)?.inputSchema;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setRefusal(undefined);
    try {
      const started = await startRun(specFile, target, input);
      if (started.ok) navigate(`/runs/${encodeURIComponent(started.result)}`);
      else setRefusal(started);
    } catch (error) {
      setRefusal({ error: (error as Error).message, problems: [] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <details class="start">
      <summary>Start a workflow</summary>
      <form onSubmit={submit} aria-describedby={refusal ? "start-refusal" : undefined}>
        <label>
          Spec
          <select value={specFile} onChange={(e) => setSpecFile(e.currentTarget.value)}>
            {(specs ?? []).map((s) => (
              <option key={s.specFile} value={s.specFile}>
                {s.specFile} ({s.workflow})
              </option>
            ))}
          </select>
        </label>
        {targets.length > 1 && (
          <label>
            Where
            <select value={target} onChange={(e) => setTarget(e.currentTarget.value as RunSourceKind)}>
              {targets.map((t) => (
                <option key={t} value={t}>
                  {t === "local" ? "local run (ferry run)" : "cloud execution (ferry start)"}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Input (JSON)
          <textarea
            rows={5}
            spellcheck={false}
            value={input}
            onInput={(e) => setInput(e.currentTarget.value)}
            aria-invalid={refusal && refusal.problems.length > 0 ? "true" : undefined}
          />
        </label>
        {schema && (
          <details>
            <summary>Input schema</summary>
            <pre class="json">{JSON.stringify(schema, null, 2)}</pre>
          </details>
        )}
        <div>
          <button type="submit" disabled={busy || !specFile}>
            {busy ? "Starting…" : "Start"}
          </button>
        </div>
        {refusal && (
          <div id="start-refusal" class="error" role="alert">
            <p>Not started: {refusal.error}</p>
            {refusal.problems.length > 0 && (
              <ul class="problems">
                {refusal.problems.map((p) => (
                  <li key={`${p.path} ${p.message}`}>
                    <code>{p.path}</code>: {p.message}
                    {p.hint ? <span class="note"> ({p.hint})</span> : null}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </form>
    </details>
  );
}
