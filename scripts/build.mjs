#!/usr/bin/env node
// Ferry's build: the artifacts it ships, each a named target, all from one
// esbuild configuration. Outputs go to dist/ (ignored by git).
//
//   node scripts/build.mjs [target|group ...]        (default: the "agent" group)
//
// Targets:
//   cli                    dist/cli/: the `ferry` command as ESM chunks (one per command, loaded when it
//                          runs), with dist/cli/stamp.json naming the sources it was built from, so
//                          cli/bin/ferry.js can tell a stale build and run the sources instead
//   agent-bundle           dist/agent/ferry-agent.mjs: the agent in one ESM file for any Node >= 22
//   agent-sea-linux-x64    dist/agent/linux-x64/ferry-agent: a Node single-executable application
//   agent-sea-linux-arm64  dist/agent/linux-arm64/ferry-agent
//   agent-release-linux-x64    dist/agent/ferry-agent-<version>-linux-x64.tar.gz: the executable
//   agent-release-linux-arm64  with install.sh and what it installs (the one-line install's download)
//   agent-deb-amd64        dist/agent/ferry-agent_<version>_amd64.deb (dpkg-deb)
//   agent-deb-arm64        dist/agent/ferry-agent_<version>_arm64.deb
//   agent-image            the ferry-agent:<version> image for this machine (needs a Docker engine)
// Groups: agent (bundle, executables, releases, packages), all (cli, agent and agent-image).
//
// The executables embed the bundle into the official Node binary of the
// version the root package.json pins (`node`), taken from the npm package
// node-linux-<arch> (downloaded with `npm pack` into node_modules/.cache), with
// postject. No code cache and no snapshot, so one blob serves both
// architectures and needs no emulator to build.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, transform } from "esbuild";
import { sourceEntries } from "../cli/bin/source-dirs.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const dist = join(root, "dist");
const agentDist = join(dist, "agent");
const cache = join(root, "node_modules", ".cache", "ferry-build");
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const agentPackage = JSON.parse(readFileSync(join(root, "edge-agent", "package.json"), "utf8"));

/** The Node.js version every artifact runs on: the root `node` dependency. */
const NODE_VERSION = rootPackage.dependencies.node;
/** The agent's version: edge-agent/package.json. */
const AGENT_VERSION = agentPackage.version;
/** Node's SEA fuse (node/src/node_sea.cc), which postject flips. */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** Debian architecture of each Node platform. */
const DEB_ARCH = { x64: "amd64", arm64: "arm64" };

const log = (text) => process.stderr.write(`[build] ${text}\n`);
const size = (file) => `${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB`;

// ssh2 (and its native cpu-features) is only docker-modem's transport for
// ssh:// engines; the agent talks to engines over a unix socket. Built without
// it, an ssh:// engine fails with this message instead of a missing module.
const withoutSsh2 = {
  name: "ferry-without-ssh2",
  setup(b) {
    b.onResolve({ filter: /^ssh2$/ }, () => ({ path: "ssh2", namespace: "ferry-stub" }));
    b.onLoad({ filter: /.*/, namespace: "ferry-stub" }, () => ({
      contents:
        "class Client { constructor() { throw new Error('the built ferry-agent reaches container engines over unix sockets only (no ssh://)'); } }\nmodule.exports = { Client };\n",
      loader: "js",
    }));
  },
};

/** The esbuild options every Ferry bundle shares. */
function bundleOptions(overrides) {
  return {
    bundle: true,
    platform: "node",
    target: "node22",
    minify: true,
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    absWorkingDir: root,
    plugins: [withoutSsh2],
    ...overrides,
  };
}

/** Hash of the files (and `extra`) an output is made from. */
function digest(files, extra = "") {
  const hash = createHash("sha256").update(extra);
  for (const file of files) hash.update(`\0${relative(root, file)}\0`).update(readFileSync(file));
  return hash.digest("hex");
}
const stampOf = (outfile) => join(cache, "stamps", relative(dist, outfile).replaceAll("/", "__"));
/** Slow targets (executables, packages) are remade only when what they are made from changed. */
function upToDate(outfile, hash) {
  const stamp = stampOf(outfile);
  if (existsSync(outfile) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash) {
    log(`${relative(root, outfile)} is up to date`);
    return true;
  }
  rmSync(stamp, { force: true });
  return false;
}
function stamp(outfile, hash) {
  mkdirSync(dirname(stampOf(outfile)), { recursive: true });
  writeFileSync(stampOf(outfile), hash);
}

// The CLI runs on the machine it is built on, from the checkout: what stays out of
// the chunks is loaded from node_modules at run time. The CDK (and cdk-nag and
// constructs, which must be the CDK's own instances) reads its own files and is
// loaded only by the commands that synthesize; esbuild finds its native binary;
// tsx registers itself for function steps' TypeScript; ssh2 is docker-modem's
// optional ssh:// transport with a native part. The AWS SDK (CommonJS) stays
// out too: a chunk split off for a lazy import() of a CommonJS module exports
// only `default`, so `const { S3Client } = await import(...)` would find nothing,
// where Node's own import gives the named exports.
const CLI_EXTERNAL = [
  "aws-cdk-lib",
  "aws-cdk-lib/*",
  "cdk-nag",
  "constructs",
  "esbuild",
  "tsx",
  "tsx/*",
  "ssh2",
  "@aws-sdk/*",
  "@smithy/*",
];
const cliDist = join(dist, "cli");

// Modules that find files beside them (the UI's front end, the function host,
// the Lambda runtime, bundle-worker.mjs) keep their source location: each file's
// import.meta.url is the URL of the source file, not of the chunk it lands in.
// esbuild's define replaces the expression itself, never text inside a string
// (the Lambda bundle entry that bundle-step.ts writes names its own import.meta.url).
const sourceImportMetaUrl = {
  name: "ferry-source-import-meta-url",
  setup(b) {
    const tsconfigRaw = readFileSync(join(root, "tsconfig.json"), "utf8");
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      if (args.path.includes(`${"/"}node_modules${"/"}`)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      const { code } = await transform(text, {
        loader: args.path.endsWith("ts") ? "ts" : "js",
        format: "esm",
        tsconfigRaw,
        // Inline, so the chunk's source map still points into the source file.
        sourcemap: "inline",
        sourcefile: args.path,
        define: { "import.meta.url": JSON.stringify(pathToFileURL(args.path).href) },
      });
      return { contents: code, loader: "js", resolveDir: dirname(args.path) };
    });
  },
};

// zod's namespace object (`import { z } from "zod"`) holds every locale, 0.5 MiB
// parsed on each start; Ferry's messages are English, the default zod sets itself.
const zodEnglishOnly = {
  name: "ferry-zod-english-only",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";\n',
      loader: "js",
    }));
  },
};

async function cliBuild() {
  // Chunk names change with their content: start clean so no earlier chunk lingers.
  rmSync(cliDist, { recursive: true, force: true });
  const result = await build(
    bundleOptions({
      entryPoints: { main: join(root, "cli", "src", "main.ts") },
      outdir: cliDist,
      format: "esm",
      splitting: true,
      outExtension: { ".js": ".mjs" },
      chunkNames: "chunks/[name]-[hash]",
      // Start-up is parsing: no minify (stack traces stay readable), names kept.
      minify: false,
      sourcemap: "linked",
      metafile: true,
      external: CLI_EXTERNAL,
      plugins: [sourceImportMetaUrl, zodEnglishOnly],
      banner: {
        js: 'import { createRequire as __ferryCreateRequire } from "node:module"; const require = __ferryCreateRequire(import.meta.url);',
      },
    }),
  );
  // Every source file of the checkout the chunks were made from, with its mtime and size:
  // the bin compares them (a stat each) before it trusts the build.
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes("node_modules/"))
    .sort()
    .map((input) => {
      const { mtimeMs, size } = statSync(join(root, input));
      return [input, mtimeMs, size];
    });
  // And each of their directories with its mtime and entries: a file added there makes the build stale.
  const dirs = [...new Set(sources.map(([input]) => dirname(input)))].sort().map((dir) => {
    const path = join(root, dir);
    return [dir, statSync(path).mtimeMs, sourceEntries(path)];
  });
  writeFileSync(join(cliDist, "stamp.json"), `${JSON.stringify({ main: "main.mjs", sources, dirs })}\n`);
  log(`dist/cli (${sources.length} source files)`);
  return cliDist;
}

const AGENT_ENTRY = join(root, "edge-agent", "src", "cli", "artifact-entry.ts");

async function agentBundle() {
  const outfile = join(agentDist, "ferry-agent.mjs");
  await build(
    bundleOptions({
      entryPoints: [AGENT_ENTRY],
      outfile,
      format: "esm",
      // CommonJS dependencies (dockerode, the AWS SDK's) call require(): give the ESM file one.
      banner: {
        js: '#!/usr/bin/env node\nimport { createRequire as __ferryCreateRequire } from "node:module"; const require = __ferryCreateRequire(import.meta.url);',
      },
    }),
  );
  chmodSync(outfile, 0o755);
  log(`${relative(root, outfile)} (${size(outfile)})`);
  return outfile;
}

let seaMainPromise;
/** The SEA's main script: CommonJS, the format Node 24 runs as an injected main. */
function seaMain() {
  seaMainPromise ??= buildSeaMain();
  return seaMainPromise;
}
async function buildSeaMain() {
  const outfile = join(cache, "sea", "ferry-agent.cjs");
  await build(
    bundleOptions({
      entryPoints: [AGENT_ENTRY],
      outfile,
      format: "cjs",
      // import.meta only serves the function host from sources (tsx); the built agent passes its own.
      logOverride: { "empty-import-meta": "silent" },
    }),
  );
  return outfile;
}

/** bin/node of node-linux-<arch>@NODE_VERSION: the installed package if it is that version, else `npm pack`ed into the cache. */
function officialNode(arch) {
  const name = `node-linux-${arch}`;
  const installed = join(root, "node_modules", "node", "node_modules", name);
  if (existsSync(join(installed, "package.json"))) {
    const { version } = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    if (version === NODE_VERSION) return join(installed, "bin", "node");
  }
  const dir = join(cache, `${name}-${NODE_VERSION}`);
  const binary = join(dir, "package", "bin", "node");
  if (existsSync(binary)) return binary;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`npm pack ${name}@${NODE_VERSION}`);
  const [{ filename }] = JSON.parse(
    execFileSync("npm", ["pack", `${name}@${NODE_VERSION}`, "--json", "--pack-destination", dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  execFileSync("tar", ["-xzf", join(dir, filename), "-C", dir, "package/bin/node"]);
  rmSync(join(dir, filename));
  return binary;
}

let blobPromise;
/** The SEA preparation blob, made once by the pinned Node for both architectures. */
function seaBlob() {
  blobPromise ??= (async () => {
    const main = await seaMain();
    const blob = join(cache, "sea", "ferry-agent.blob");
    const config = join(cache, "sea", "sea-config.json");
    // Relative names: the script's name is what stack traces show, not where it was built.
    writeFileSync(
      config,
      JSON.stringify({
        main: relative(dirname(config), main),
        output: relative(dirname(config), blob),
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
      }),
    );
    // The blob's format belongs to the Node version: make it with the very version embedded.
    const node = officialNode(process.arch === "arm64" ? "arm64" : "x64");
    execFileSync(node, ["--experimental-sea-config", config], {
      cwd: dirname(config),
      stdio: ["ignore", "ignore", "inherit"],
    });
    return blob;
  })();
  return blobPromise;
}

const seas = new Map();
/** The executable for `arch`, made once per run however many targets need it. */
function agentSea(arch) {
  if (!seas.has(arch)) seas.set(arch, buildAgentSea(arch));
  return seas.get(arch);
}
async function buildAgentSea(arch) {
  const outfile = join(agentDist, `linux-${arch}`, "ferry-agent");
  const hash = digest(
    [await seaMain()],
    `sea ${NODE_VERSION} linux-${arch} ${SEA_FUSE} main=ferry-agent.cjs`,
  );
  if (upToDate(outfile, hash)) return outfile;
  const blob = await seaBlob();
  mkdirSync(dirname(outfile), { recursive: true });
  rmSync(outfile, { force: true });
  copyFileSync(officialNode(arch), outfile);
  chmodSync(outfile, 0o755);
  const { inject } = await import("postject");
  await inject(outfile, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: SEA_FUSE });
  stamp(outfile, hash);
  log(`${relative(root, outfile)} (${size(outfile)}, Node ${NODE_VERSION})`);
  return outfile;
}

/** What install.sh installs, beside it in a release. */
const INSTALL_FILES = [
  "install.sh",
  "setup-host.sh",
  "ferry-agent.service",
  "ferry-engine-proxy.service",
  "agent.example.yaml",
  "INSTALL.md",
];

const installFile = (file) => join(root, "edge-agent", "install", file);

async function agentRelease(arch) {
  const binary = await agentSea(arch);
  const name = `ferry-agent-${AGENT_VERSION}-linux-${arch}`;
  const outfile = join(agentDist, `${name}.tar.gz`);
  const hash = digest([binary, ...INSTALL_FILES.map(installFile)], name);
  if (upToDate(outfile, hash)) return outfile;
  const stage = join(cache, "release", name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(binary, join(stage, "ferry-agent"));
  chmodSync(join(stage, "ferry-agent"), 0o755);
  for (const file of INSTALL_FILES) copyFileSync(installFile(file), join(stage, file));
  for (const script of ["install.sh", "setup-host.sh"]) chmodSync(join(stage, script), 0o755);
  execFileSync("tar", [
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-czf",
    outfile,
    "-C",
    dirname(stage),
    name,
  ]);
  rmSync(stage, { recursive: true, force: true });
  stamp(outfile, hash);
  log(`${relative(root, outfile)} (${size(outfile)})`);
  return outfile;
}

const DEB_FILES = [
  "build-deb.sh",
  "setup-host.sh",
  "ferry-agent.service",
  "ferry-engine-proxy.service",
  "agent.example.yaml",
  "INSTALL.md",
];

async function agentDeb(arch) {
  const binary = await agentSea(arch);
  const outfile = join(agentDist, `ferry-agent_${AGENT_VERSION}_${DEB_ARCH[arch]}.deb`);
  const hash = digest([binary, ...DEB_FILES.map(installFile)], `deb ${AGENT_VERSION} ${DEB_ARCH[arch]}`);
  if (upToDate(outfile, hash)) return outfile;
  execFileSync("bash", [installFile("build-deb.sh"), binary, DEB_ARCH[arch], AGENT_VERSION, outfile], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  stamp(outfile, hash);
  log(`${relative(root, outfile)} (${size(outfile)})`);
  return outfile;
}

async function agentImage() {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const binary = await agentSea(arch);
  const tag = `ferry-agent:${AGENT_VERSION}`;
  execFileSync("bash", [installFile("build-image.sh"), binary, tag], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  log(`image ${tag}`);
  return tag;
}

const TARGETS = {
  cli: cliBuild,
  "agent-bundle": agentBundle,
  "agent-sea-linux-x64": () => agentSea("x64"),
  "agent-sea-linux-arm64": () => agentSea("arm64"),
  "agent-release-linux-x64": () => agentRelease("x64"),
  "agent-release-linux-arm64": () => agentRelease("arm64"),
  "agent-deb-amd64": () => agentDeb("x64"),
  "agent-deb-arm64": () => agentDeb("arm64"),
  "agent-image": agentImage,
};
const GROUPS = {
  agent: [
    "agent-bundle",
    "agent-sea-linux-x64",
    "agent-sea-linux-arm64",
    "agent-release-linux-x64",
    "agent-release-linux-arm64",
    "agent-deb-amd64",
    "agent-deb-arm64",
  ],
  all: [...Object.keys(TARGETS)],
};

const requested = process.argv.slice(2);
const names = (requested.length ? requested : ["agent"]).flatMap((name) => GROUPS[name] ?? [name]);
const unknown = names.filter((name) => !TARGETS[name]);
if (unknown.length) {
  process.stderr.write(
    `build.mjs: unknown target ${unknown.map((n) => `"${n}"`).join(", ")}; targets: ${Object.keys(TARGETS).join(", ")}; groups: ${Object.keys(GROUPS).join(", ")}\n`,
  );
  process.exit(2);
}
mkdirSync(agentDist, { recursive: true });
mkdirSync(join(cache, "sea"), { recursive: true });
for (const name of new Set(names)) await TARGETS[name]();
