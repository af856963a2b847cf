/** One CSV row (every value a string, as Step Functions' CSV reader gives it). */
export async function handler(event: { item: { id: string; value: string } }) {
  return { id: Number(event.item.id), score: Number(event.item.value) * 2 };
}
