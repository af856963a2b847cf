// Bundles one function step for Lambda, in its own process: esbuild plugins
// need the async API, and CDK's local bundling hook is synchronous.
// Request (JSON on stdin): { entry, resolveDir, outfile }.
// Reply (JSON on stdout): { ok: true, warnings, inputs } or { ok: false, errors };
// inputs: the files the bundle was made from, relative to resolveDir.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const request = JSON.parse(readFileSync(0, "utf8"));

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
    metafile: true,
    banner: {
      js: 'import { createRequire as __ferryCreateRequire } from "node:module"; const require = __ferryCreateRequire(import.meta.url);',
    },
  });
  // The generated entry (stdin) is part of the cache key already.
  const inputs = Object.keys(result.metafile.inputs).filter((file) => file !== "ferry-step-entry.mjs");
  process.stdout.write(JSON.stringify({ ok: true, warnings: result.warnings.map(format), inputs }));
} catch (error) {
  const errors =
    Array.isArray(error?.errors) && error.errors.length > 0 ? error.errors.map(format) : [String(error)];
  process.stdout.write(JSON.stringify({ ok: false, errors }));
  process.exitCode = 1;
}
