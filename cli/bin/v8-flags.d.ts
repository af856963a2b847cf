/** The V8 flags a `ferry` command starts with, for `args` (the command line after `ferry`). */
export function v8FlagsFor(args: readonly string[]): string[];
