/** A Ferry function step: receives `{ input, deps }`, returns a JSON object. */
export async function handler(event: { input: unknown; deps: { extract: { numbers: number[] } } }) {
  const numbers = event.deps.extract.numbers;
  const sum = numbers.reduce((a, b) => a + b, 0);
  return { count: numbers.length, sum, mean: sum / numbers.length, max: Math.max(...numbers) };
}
