import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Sums the cleaned readings per sensor; writes summary.json and returns the totals. */
export async function handler(
  event: { deps: { clean: { kept: number } } },
  context: { jobDir: string },
): Promise<{ rows: number; total: number; sensors: Record<string, number> }> {
  const csv = await readFile(join(context.jobDir, "clean.csv"), "utf8");
  const sensors: Record<string, number> = {};
  for (const line of csv.trim().split("\n").slice(1)) {
    const [sensor, value] = line.split(",");
    sensors[sensor!] = (sensors[sensor!] ?? 0) + Number(value);
  }
  const total = Object.values(sensors).reduce((a, b) => a + b, 0);
  const summary = { rows: event.deps.clean.kept, total, sensors };
  await writeFile(join(context.jobDir, "summary.json"), `${JSON.stringify(summary)}\n`);
  return summary;
}
