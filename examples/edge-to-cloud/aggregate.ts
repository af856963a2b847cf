type SiteSummary = { site: string; readings: number; anomalies: number };

export async function handler(event: { deps: Record<string, SiteSummary> }) {
  const sites = Object.values(event.deps);
  const readings = sites.reduce((n, s) => n + s.readings, 0);
  const anomalies = sites.reduce((n, s) => n + s.anomalies, 0);
  return { sites: sites.length, readings, anomalies, anomalyRate: anomalies / readings };
}
