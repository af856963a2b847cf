// Bundles one function step for Lambda, in its own process: esbuild plugins
// need the async API, and CDK's local bundling hook is synchronous.
// Request (JSON on stdin): { entry, resolveDir, outfile }.
// Reply (JSON on stdout): { ok: true, warnings } or { ok: false, errors }.
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
