type Partition = { partition: string; rows: number };

/** Fan-in: every dependency's output arrives under `deps.<step name>`. */
export async function handler(event: { deps: Record<string, Partition> }) {
  const partitions = Object.values(event.deps);
  return {
    partitions: partitions.map((p) => p.partition).sort(),
    rows: partitions.reduce((n, p) => n + p.rows, 0),
  };
}
