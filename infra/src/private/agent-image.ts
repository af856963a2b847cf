import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InfraError } from "../errors.ts";

/** Errors name the image, not a construct: one image serves every pool of every stack. */
const WHERE = "Ferry agent image";

/** Ferry's own checkout: where `scripts/build.mjs` and the agent's sources live. */
const FERRY_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where the agent sits in the shared task volume, in both the agent image
 * and the step's container. The volume is `/ferry` (world-writable, sticky),
 * so the agent can make its work folder and the `/ferry/job` link there
 * whatever user the step's image runs as.
 */
export const AGENT_VOLUME_PATH = "/ferry";
const AGENT_DIR = `${AGENT_VOLUME_PATH}/agent`;
/** The dynamic loader shipped with the agent. */
export const AGENT_LOADER = `${AGENT_DIR}/lib/ld-linux-x86-64.so.2`;

/**
 * The agent's command line in any image: the dynamic loader shipped beside it
 * starts it with the shipped libraries, so it needs neither Node.js nor
 * glibc in the step's image. `--library-path` is an argument, not
 * `LD_LIBRARY_PATH`, so the step's own programs keep their image's libraries.
 */
export const AGENT_ENTRY_POINT = [
  AGENT_LOADER,
  "--library-path",
  `${AGENT_DIR}/lib`,
  `${AGENT_DIR}/ferry-agent`,
];

/** The agent's work folder inside the task volume. */
export const AGENT_WORK_DIR = `${AGENT_VOLUME_PATH}/work`;

/** The build context of the agent image and the hash of its content. */
export interface AgentImageContext {
  dir: string;
  /** Content hash (16 hex digits): the local tag, and what CDK's asset hash follows. */
  hash: string;
}

/**
 * The self-contained agent for linux-x64: the Node single-executable
 * application `scripts/build.mjs` builds (`dist/agent/linux-x64/ferry-agent`),
 * rebuilt when a source it bundles is newer.
 */
export function agentExecutable(root = FERRY_ROOT): string {
  const binary = join(root, "dist", "agent", "linux-x64", "ferry-agent");
  if (!isStale(root, binary)) return binary;
  // Several synths at once (parallel test files) build it once; the others wait for it.
  const lock = `${binary}.lock`;
  mkdirSync(dirname(binary), { recursive: true });
  const waitUntil = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // A lock left by a crashed build is taken over after ten minutes.
      if (Date.now() > waitUntil) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (isStale(root, binary)) {
      const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "agent-sea-linux-x64"], {
        cwd: root,
        stdio: ["ignore", "ignore", "pipe"],
        encoding: "utf8",
      });
      if (built.status !== 0) {
        throw new InfraError(
          "BUNDLING_FAILED",
          WHERE,
          `could not build the agent for Fargate (node scripts/build.mjs agent-sea-linux-x64): ${(built.stderr || String(built.error)).slice(-2000)}; run it yourself to see why, or pass fargate.agentImage`,
        );
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return binary;
}

/** Missing, or older than a source it bundles. */
function isStale(root: string, binary: string): boolean {
  const built = existsSync(binary) ? statSync(binary).mtimeMs : 0;
  const sources = [
    "edge-agent/src",
    "functions/src",
    "dsl-compiler/src",
    "scripts/build.mjs",
    "package.json",
  ];
  return sources.some((s) => newestMtimeMs(join(root, s)) > built);
}

/**
 * Writes the agent image's build context (once per content, under
 * `node_modules/.cache`): a `FROM scratch` image holding the agent, the
 * dynamic loader and the shared libraries it links (taken from this
 * machine's glibc, found with `ldd`), and a `VOLUME /ferry` that ECS and
 * Docker copy into the task volume when the init container mounts it.
 */
export function agentImageContext(root = FERRY_ROOT): AgentImageContext {
  const binary = agentExecutable(root);
  const libraries = linkedLibraries(binary);
  const hash = createHash("sha256");
  hash.update(readFileSync(binary));
  for (const lib of libraries) hash.update(basename(lib)).update(readFileSync(lib));
  hash.update(DOCKERFILE);
  const digest = hash.digest("hex").slice(0, 16);
  const dir = join(root, "node_modules", ".cache", "ferry-agent-image", digest);
  if (existsSync(join(dir, "Dockerfile"))) return { dir, hash: digest };
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const agentDir = join(staging, "rootfs", "ferry", "agent");
  mkdirSync(join(agentDir, "lib"), { recursive: true });
  chmodSync(join(staging, "rootfs", "ferry"), 0o1777);
  copyFileSync(binary, join(agentDir, "ferry-agent"));
  chmodSync(join(agentDir, "ferry-agent"), 0o755);
  for (const lib of libraries) {
    copyFileSync(lib, join(agentDir, "lib", basename(lib)));
    chmodSync(join(agentDir, "lib", basename(lib)), 0o755);
  }
  writeFileSync(join(staging, "Dockerfile"), DOCKERFILE);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return { dir, hash: digest };
}

const DOCKERFILE = `# Ferry's agent for Fargate: copied into each task's /ferry volume, then the
# step's own image runs it as its entry point. Nothing to pull: FROM scratch.
FROM scratch
COPY rootfs/ /
VOLUME ["${AGENT_VOLUME_PATH}"]
ENTRYPOINT ${JSON.stringify(AGENT_ENTRY_POINT)}
CMD ["--version"]
`;

/** The loader and libraries `binary` needs, as absolute paths (symlinks resolved by the copy). */
function linkedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [binary], { encoding: "utf8" });
  } catch (error) {
    throw new InfraError(
      "BUNDLING_FAILED",
      WHERE,
      `cannot list the libraries of ${binary} with ldd (${(error as Error).message}); build Fargate workflows on linux-x64 with glibc, or pass fargate.agentImage`,
    );
  }
  const libs = [...out.matchAll(/(\/\S+\.so[.\d]*)\s/g)].map((m) => m[1]!);
  const loader = libs.find((l) => basename(l) === "ld-linux-x86-64.so.2");
  if (!loader) {
    throw new InfraError(
      "BUNDLING_FAILED",
      WHERE,
      `${binary} does not use ld-linux-x86-64.so.2 (ldd: ${out.trim()}); Fargate pools need a linux-x64 agent`,
    );
  }
  return [...new Set(libs)];
}

function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/**
 * Builds the agent image with the local Docker engine and returns its tag:
 * what `ferry deploy` does for LocalStack (which has no ECR) and what the
 * container contract test runs.
 */
export function buildAgentImageLocally(root = FERRY_ROOT): string {
  const context = agentImageContext(root);
  const tag = `ferry-fargate-agent:${context.hash}`;
  if (spawnSync("docker", ["image", "inspect", tag], { stdio: "ignore" }).status === 0) return tag;
  const built = spawnSync("docker", ["build", "-q", "-t", tag, context.dir], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (built.status !== 0) {
    throw new InfraError(
      "BUNDLING_FAILED",
      WHERE,
      `docker build -t ${tag} failed: ${(built.stderr || String(built.error)).trim().slice(-1000)}; is a Docker engine running (docker info)?`,
    );
  }
  return tag;
}
