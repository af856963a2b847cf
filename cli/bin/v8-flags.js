// The V8 flags a `ferry` command starts with (V8 reads them only at start, so the
// bin replaces itself with a Node given them). Both cap the young generation:
// - commands that synthesize with the CDK allocate hundreds of MB of short-lived
//   objects, and 2 MiB semi-spaces keep their peak RSS about 25% lower for the same time;
// - `ferry run` promotes the values of every step in flight at each scavenge, so a large
//   foreach grows the old generation to hundreds of MB between full collections: 4 MiB
//   semi-spaces took 100,000 items from 430 to 277 MiB at 6% fewer items/s.
// Every other command (validate, status, functions serve --assembly, any --help, ...)
// starts with none.

/** The flags for `args` (the command line after `ferry`). */
export function v8FlagsFor(args) {
  if (args.includes("--help") || args.includes("-h")) return [];
  const synthesizes =
    (args[0] === "compile" && !args.includes("--no-synth")) ||
    args[0] === "deploy" ||
    (args[0] === "functions" && !args.some((a) => a === "--assembly" || a.startsWith("--assembly=")));
  if (synthesizes) return ["--max-semi-space-size=2"];
  if (args[0] === "run") return ["--max-semi-space-size=4"];
  return [];
}
