/** A foreach step's output is the list of its items' outputs, in item order. */
export async function handler(event: { deps: { resize: Array<{ file: string; thumbnail: string }> } }) {
  return { thumbnails: event.deps.resize.map((r) => r.thumbnail), count: event.deps.resize.length };
}
