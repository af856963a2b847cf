import type {
  GraphLayout,
  InputProblem,
  LogFile,
  Prediction,
  RunSourceKind,
  RunSummary,
  RunView,
  StartableSpec,
} from "../run-view.ts";

let csrf = "";

export class NotLoggedIn extends Error {}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { ...init, credentials: "same-origin" });
  if (response.status === 401) throw new NotLoggedIn();
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${response.status}`);
  return body;
}

export async function session(): Promise<{ title: string; who: string }> {
  const s = await json<{ csrf: string; title: string; who: string }>("/api/session");
  csrf = s.csrf;
  return s;
}

export const listRuns = (query: URLSearchParams) =>
  json<{ runs: RunSummary[]; problems: string[] }>(`/api/runs?${query}`);
export const getRun = (id: string) => json<RunView>(`/api/runs/${encodeURIComponent(id)}`);
export const getGraph = (id: string) => json<GraphLayout>(`/api/runs/${encodeURIComponent(id)}/graph`);
export const getPrediction = (id: string) =>
  json<Prediction>(`/api/runs/${encodeURIComponent(id)}/prediction`);
export const getLogs = (id: string, step: string) =>
  json<{ logs: LogFile[] }>(`/api/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/logs`);
export const act = (id: string, action: "cancel" | "resume" | "redrive") =>
  json<{ ok: boolean; result: string }>(`/api/runs/${encodeURIComponent(id)}/${action}`, {
    method: "POST",
    headers: { "x-ferry-csrf": csrf },
  });
export const streamUrl = (id: string) => `/api/runs/${encodeURIComponent(id)}/stream`;
export const listStartable = () =>
  json<{ specs: StartableSpec[]; targets: RunSourceKind[] }>("/api/workflows");

/** Starts a spec; a refusal comes back as data (the schema errors to show), not thrown. */
export async function startRun(
  specFile: string,
  target: RunSourceKind,
  input: string,
): Promise<{ ok: true; result: string } | { ok: false; error: string; problems: InputProblem[] }> {
  const response = await fetch("/api/start", {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-ferry-csrf": csrf, "content-type": "application/json" },
    body: JSON.stringify({ specFile, target, input }),
  });
  if (response.status === 401) throw new NotLoggedIn();
  const body = (await response.json()) as { result?: string; error?: string; problems?: InputProblem[] };
  return response.ok
    ? { ok: true, result: body.result ?? "" }
    : { ok: false, error: body.error ?? `${response.status}`, problems: body.problems ?? [] };
}
