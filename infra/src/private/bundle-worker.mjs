// Bundles one function step for Lambda, in its own process: esbuild plugins
// need the async API, and CDK's local bundling hook is synchronous.
// Request (JSON on stdin): { entry, resolveDir, outfile, sideEffectFreeDirs }.
// Reply (JSON on stdout): { ok: true, warnings } or { ok: false, errors }.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const request = JSON.parse(readFileSync(0, "utf8"));

// The compiler package re-exports everything from one index; marking its
// files side-effect free lets esbuild keep only the step-message contract
// the adapter uses, not the CLI, YAML parser or local runtime.
const sideEffectFree = {
  name: "ferry-side-effect-free",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.ferryResolved) return undefined;
      const fromCompiler = request.sideEffectFreeDirs.some((dir) => args.importer.startsWith(dir));
      if (args.path !== "@ferry/dsl-compiler" && !fromCompiler) return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { ferryResolved: true },
      });
      if (
        resolved.errors.length > 0 ||
        !request.sideEffectFreeDirs.some((dir) => resolved.path.startsWith(dir))
      )
        return undefined;
      return { path: resolved.path, sideEffects: false };
    });
  },
};

const format = (m) =>
  m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text;

try {
  const result = await build({
    stdin: {
      contents: request.entry,
      resolveDir: request.resolveDir,
      sourcefile: "ferry-step-entry.mjs",
      loader: "js",
    },
    absWorkingDir: request.resolveDir,
    outfile: request.outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // The Lambda Node.js runtime ships the AWS SDK v3.
    external: ["@aws-sdk/*"],
    keepNames: true,
    legalComments: "none",
    logLevel: "silent",
    plugins: [sideEffectFree],
    banner: {
      js: 'import { createRequire as __ferryCreateRequire } from "node:module"; const require = __ferryCreateRequire(import.meta.url);',
    },
  });
  process.stdout.write(JSON.stringify({ ok: true, warnings: result.warnings.map(format) }));
} catch (error) {
  const errors =
    Array.isArray(error?.errors) && error.errors.length > 0 ? error.errors.map(format) : [String(error)];
  process.stdout.write(JSON.stringify({ ok: false, errors }));
  process.exitCode = 1;
}
