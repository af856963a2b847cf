import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type CompiledWorkflow, findProjectRoot, pinImageDigests } from "@ferry/dsl-compiler";
import { type CliCommand, type CliIo, UsageError } from "../command.ts";
import { compileOrReport } from "../support/report-diagnostics.ts";
import { SPLIT_LIMIT_FLAG, SPLIT_LIMIT_USAGE, splitLimitOption } from "../support/split-limit.ts";

export const compileCommand: CliCommand = {
  usage: `Usage: ferry compile <spec.yaml> --out <dir> [--no-synth] [--validate-template] [--pin-images [--engine-socket PATH]]
                     [--split-limit N]

Writes ir.json, statemachine.asl.json (with \${…} definition-substitution
slots), child state machines if any, manifest.json, substitutions.json and,
unless --no-synth, the synthesized CDK cloud assembly under cdk.out/ (checked
by cdk-nag).

  --validate-template   also run the CDK's built-in CloudFormation template
                        validation (several seconds; CloudFormation validates
                        the template again at deploy, and ferry deploy runs it)
  --pin-images          resolve every container step's image to the digest (image id)
                        the local Docker engine has for it and write it into the
                        manifest: agents then run exactly that image and refuse
                        another under the same tag. Registry (ECR) lookups are not
                        made: load or pull the images on this machine first.
  --engine-socket PATH  the Docker Engine socket (default /var/run/docker.sock)
${SPLIT_LIMIT_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        "no-synth": { type: "boolean" },
        "validate-template": { type: "boolean" },
        "pin-images": { type: "boolean" },
        "engine-socket": { type: "string" },
        ...SPLIT_LIMIT_FLAG,
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    if (!values.out) throw new UsageError("--out <dir> is required");
    const options = splitLimitOption(values["split-limit"]);
    if (values["no-synth"] && values["validate-template"])
      throw new UsageError("--validate-template checks the synthesized template: drop --no-synth");
    const specFile = resolve(io.cwd, positionals[0]!);
    let compiled = await compileOrReport(positionals[0]!, io, options);
    if (!compiled) return 1;
    if (values["pin-images"]) {
      compiled = await pinImages(compiled, values["engine-socket"], io);
      if (!compiled) return 1;
    } else if (values["engine-socket"]) throw new UsageError("--engine-socket goes with --pin-images");
    const outDir = resolve(io.cwd, values.out);
    await writeAtomically(outDir, async (dir) => {
      await writeCompiled(dir, compiled);
      if (!values["no-synth"]) {
        const { synthesizeWorkflow } = await import("@ferry/infra");
        await synthesizeWorkflow(compiled, {
          outDir: join(dir, "cdk.out"),
          projectRoot: findProjectRoot(dirname(specFile)),
          validateTemplate: values["validate-template"] ?? false,
        });
      }
    });
    const children = compiled.childStateMachines.length;
    io.stdout(
      `compiled ${compiled.ir.name}: ${compiled.ir.steps.length} steps, ${Object.keys(compiled.stateMachine.states).length} states${children > 0 ? ` in the root machine, ${children} child machines` : ""} → ${outDir}\n`,
    );
    return 0;
  },
};

/** The compiled workflow with its container images pinned to the local engine's digests; undefined (reported) when one is missing. */
async function pinImages(
  compiled: CompiledWorkflow,
  socketPath: string | undefined,
  io: CliIo,
): Promise<CompiledWorkflow | undefined> {
  const { DockerRuntime } = await import("@ferry/edge-agent");
  const engine = new DockerRuntime({ ...(socketPath ? { socketPath } : {}) });
  const digests: Record<string, string> = {};
  try {
    await engine.ping();
    for (const step of Object.values(compiled.manifest.steps)) {
      if (step.runtime.kind !== "container" || digests[step.runtime.image]) continue;
      const { imageDigest } = await engine.identify(step);
      if (imageDigest) digests[step.runtime.image] = imageDigest;
    }
  } finally {
    await engine.close();
  }
  const pinned = pinImageDigests(compiled, digests);
  if (pinned.ok) {
    for (const [image, digest] of Object.entries(digests)) io.stdout(`pinned ${image} → ${digest}\n`);
    return pinned.compiled;
  }
  io.stderr(
    `ferry compile --pin-images: the Docker engine has no image ${pinned.missing.join(", ")} — build, load or pull ${pinned.missing.length === 1 ? "it" : "them"} on this machine first (docker pull / docker load), then compile again\n`,
  );
  return undefined;
}

export async function writeCompiled(dir: string, compiled: CompiledWorkflow): Promise<void> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(join(dir, "ir.json"), json(compiled.ir));
  await writeFile(join(dir, "statemachine.asl.json"), json(compiled.stateMachine.definition));
  for (const child of compiled.childStateMachines)
    await writeFile(join(dir, `${child.id}.asl.json`), json(child.definition));
  await writeFile(
    join(dir, "states.json"),
    json({
      root: compiled.stateMachine.states,
      ...Object.fromEntries(compiled.childStateMachines.map((c) => [c.id, c.states])),
    }),
  );
  await writeFile(join(dir, "manifest.json"), json(compiled.manifest));
  await writeFile(join(dir, "substitutions.json"), json(compiled.substitutions));
}

/** Builds into a sibling temp dir and swaps it in, so a failed compile never leaves a half-written output. */
async function writeAtomically(outDir: string, build: (dir: string) => Promise<void>): Promise<void> {
  const temp = `${outDir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    await build(temp);
    await rm(outDir, { recursive: true, force: true });
    await rename(temp, outDir);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
