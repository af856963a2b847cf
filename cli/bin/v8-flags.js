// The V8 flags a `ferry` command starts with (V8 reads them only at start, so the
// bin replaces itself with a Node given them). Commands that allocate a lot of
// short-lived objects start with 2 MiB semi-spaces, a small young generation:
// - those that synthesize with the CDK allocate hundreds of MB, and their peak RSS
//   is about 25% lower for the same time;
// - `ferry run` promotes the values of every step in flight at each scavenge, so a
//   large foreach grew the old generation to hundreds of MB between full collections:
//   100,000 items peaked at 430 MiB with V8's default and 268 MiB with this, at 5%
//   fewer items/s (292 MiB with 4 MiB semi-spaces).
// Every other command (validate, status, functions serve --assembly, any --help, ...)
// starts with none.

/** The flags for `args` (the command line after `ferry`). */
export function v8FlagsFor(args) {
  if (args.includes("--help") || args.includes("-h")) return [];
  const synthesizes =
    (args[0] === "compile" && !args.includes("--no-synth")) ||
    args[0] === "deploy" ||
    (args[0] === "functions" && !args.some((a) => a === "--assembly" || a.startsWith("--assembly=")));
  return synthesizes || args[0] === "run" ? ["--max-semi-space-size=2"] : [];
}
