// Prints the size of the two bundles Ferry ships as single files: a function
// step's Lambda code (built by the construct's own bundler) and an edge agent
// device build (`ferry agent`'s worker, bundled with esbuild like the Lambda
// code, engine client left external as on a device with node_modules).
// Run: npx tsx bench/bundle-size.ts
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { build } from "esbuild";
import { StepBundler } from "../infra/src/private/bundle-step.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

function lambdaBundleBytes(): number {
  const bundler = new StepBundler(root);
  const code = bundler.code(new Stack(new App(), "BundleSize"), {
    file: "functions/examples/load.ts",
    exportName: "handler",
  });
  const bytes = dirBytes((code as unknown as { path: string }).path);
  bundler.cleanup();
  return bytes;
}

async function agentBundleBytes(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-agent-bundle-"));
  try {
    const outfile = join(dir, "agent.mjs");
    await build({
      stdin: {
        contents:
          'import { createAgent, loadAgentConfig } from "@ferry/edge-agent";\nexport { createAgent, loadAgentConfig };\n',
        resolveDir: root,
        loader: "js",
      },
      bundle: true,
      minify: true,
      platform: "node",
      format: "esm",
      target: "node22",
      outfile,
      logLevel: "error",
      external: ["dockerode", "ssh2", "cpu-features", "@aws-sdk/*"],
    });
    return statSync(outfile).size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`Lambda step bundle (functions/examples/load.ts#handler): ${kib(lambdaBundleBytes())}`);
console.log(
  `edge agent bundle (createAgent, minified, AWS SDK and dockerode external): ${kib(await agentBundleBytes())}`,
);
