import type { StepView, ViewStepStatus } from "../run-view.ts";

export function when(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return "";
  return ms < 1000
    ? `${ms} ms`
    : ms < 120_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${(ms / 60_000).toFixed(1)} min`;
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "undefined";
}

/** A group's colour: the most telling of its members' states. */
export function groupStatus(members: StepView[]): ViewStepStatus {
  for (const s of ["FAILED", "RETRYING", "RUNNING", "CANCELLED"] as const)
    if (members.some((m) => m.status === s)) return s;
  if (members.length > 0 && members.every((m) => m.status === "SUCCEEDED")) return "SUCCEEDED";
  return members.some((m) => m.status === "SUCCEEDED") ? "RUNNING" : "PENDING";
}
