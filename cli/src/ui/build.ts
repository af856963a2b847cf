import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** The page, its script and its stylesheet, served by `ferry ui`. */
export interface UiAssets {
  html: string;
  js: string;
  css: string;
}

const APP_DIR = fileURLToPath(new URL("./app/", import.meta.url));

/**
 * Bundles the browser app (preact, TSX) with esbuild, in memory, when the
 * server starts (about a tenth of a second): a clean clone's `npx ferry ui`
 * needs no build step, nothing is fetched from a CDN, and the bundle never
 * goes stale against its sources.
 */
export async function buildUiAssets(options: { minify?: boolean } = {}): Promise<UiAssets> {
  const result = await build({
    entryPoints: [`${APP_DIR}main.tsx`],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    minify: options.minify ?? true,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "silent",
  });
  const js = result.outputFiles[0]!.text;
  const css = await readFile(`${APP_DIR}style.css`, "utf8");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
  return { html, js, css };
}
