import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type AwsContext,
  type CfnTemplate,
  changedManifestHashes,
  deployWorkflow,
  dryRunBaseline,
  type FerryTarget,
  formatDryRun,
  stackNameFor,
  synthesizeStack,
  type WorkflowDeployment,
  workflowOrigin,
} from "@ferry/infra";
import { type CliCommand, UsageError } from "../command.ts";
import {
  AWS_FLAGS,
  AWS_FLAGS_USAGE,
  awsContextFor,
  loadWorkflow,
  reportDeployError,
  table,
} from "../support/cloud-commands.ts";
import { SPLIT_LIMIT_FLAG, SPLIT_LIMIT_USAGE, splitLimitOption } from "../support/split-limit.ts";

const TARGETS: FerryTarget[] = ["aws", "localstack"];

const USAGE = `Usage: ferry deploy <spec.yaml> [--target aws|localstack] [options]

Compiles the spec, synthesizes its CDK stack and deploys it through
CloudFormation with your credentials: file assets (the trusted manifest)
go to the staging bucket ferry-assets-<account>-<region>, created on first
use (no cdk bootstrap needed). Deploying again updates the stack. Then each
edge site's manifest is signed with the stack's KMS key and published at a
fixed key in the staging bucket; agents verify the signature, so redeploys
need no change on the devices. Sites whose manifest hash changed are listed
(agents that pin manifest hashes there need the new hash).

The localstack target leaves out what LocalStack's community edition cannot
run (Lambda functions, Fargate pools, alarms, state machine logging) and
says so; serve function steps with "ferry functions serve" and edge steps
with "ferry agent".

Options:
  --target aws|localstack   (default: localstack when an endpoint URL is set, else aws)
${AWS_FLAGS_USAGE}
  --out DIR                 cloud assembly directory (default .ferry/deploy/<workflow>)
  --agent-configs DIR       write agent-<site>.json for each edge site's agents: its queues,
                            its signed manifest and the key it must be signed by
  --pin-manifest-hashes     with --agent-configs, pin each site's manifest hash in its
                            config instead of trusting the signing key (every deploy that
                            changes a site's steps then needs that site's config updated)
  --timeout-seconds N       give up waiting for CloudFormation (default 1800)
  --verbose                 print every stack event
  --dry-run                 create nothing: print the resources to add, change or remove
                            (against the deployed stack when reachable, else the previous
                            compile in --out) and the IAM statements of every principal
  --offline                 with --dry-run, compare with the previous compile only
  --take-over               replace a stack of the same name deployed from another spec
                            (by default that is refused: two workflows with one name
                            would overwrite each other)
${SPLIT_LIMIT_USAGE}

Example:
  ferry deploy examples/hello/workflow.yaml --target localstack --endpoint-url http://127.0.0.1:4566`;

/** `ferry deploy`: deploy a workflow's stack and print its outputs. */
export const deployCommand: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...AWS_FLAGS,
        target: { type: "string" },
        out: { type: "string" },
        "agent-configs": { type: "string" },
        "pin-manifest-hashes": { type: "boolean" },
        "timeout-seconds": { type: "string" },
        verbose: { type: "boolean" },
        "take-over": { type: "boolean" },
        "dry-run": { type: "boolean" },
        offline: { type: "boolean" },
        ...SPLIT_LIMIT_FLAG,
      },
    });
    if (positionals.length !== 1) throw new UsageError("name one spec file");
    const target = (values.target ??
      (values["endpoint-url"] || io.env.AWS_ENDPOINT_URL ? "localstack" : "aws")) as FerryTarget;
    if (!TARGETS.includes(target))
      throw new UsageError(`--target must be aws or localstack, got "${values.target}"`);
    const timeoutSeconds = values["timeout-seconds"] === undefined ? 1800 : Number(values["timeout-seconds"]);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
      throw new UsageError(
        `--timeout-seconds must be a positive integer, got "${values["timeout-seconds"]}"`,
      );
    }
    const loaded = await loadWorkflow(positionals[0]!, io, splitLimitOption(values["split-limit"]));
    if (!loaded) return 1;
    const { compiled } = loaded;
    const context = awsContextFor(values, io.env, compiled.ir);
    if (target === "localstack" && !context.endpoint) {
      throw new UsageError(
        "--target localstack needs --endpoint-url (or AWS_ENDPOINT_URL), e.g. http://127.0.0.1:4566",
      );
    }
    const outDir = resolve(io.cwd, values.out ?? join(".ferry", "deploy", compiled.ir.name));
    if (values["dry-run"]) {
      const stackName = stackNameFor(compiled.ir.name);
      const previousTemplatePath = join(outDir, `${stackName}.template.json`);
      const baseline = await dryRunBaseline({
        stackName,
        previousTemplatePath,
        context,
        offline: values.offline ?? false,
      });
      const synthesized = synthesizeStack(compiled, {
        outDir,
        projectRoot: loaded.projectRoot,
        target,
        region: context.region,
      });
      const template = JSON.parse(readFileSync(synthesized.templatePath, "utf8")) as CfnTemplate;
      io.stdout(formatDryRun(stackName, template, baseline));
      return 0;
    }
    io.stderr(
      `deploying ${compiled.ir.name} to ${target} (${context.region}${context.endpoint ? ` at ${context.endpoint}` : ""})\n`,
    );
    try {
      const result = await deployWorkflow({
        compiled,
        projectRoot: loaded.projectRoot,
        target,
        context,
        outDir,
        origin: workflowOrigin(loaded.projectRoot, loaded.specFile),
        takeOver: values["take-over"] ?? false,
        timeoutMs: timeoutSeconds * 1000,
        signal: io.signal,
        log: (line) => {
          if (values.verbose || /FAILED/.test(line)) io.stderr(`  ${line}\n`);
        },
      });
      for (const note of result.notes) io.stdout(`note: ${note}\n`);
      io.stdout(
        `${result.outcome} stack ${result.stackName} in ${result.region} (synth ${ms(result.timings.synthMs)}, assets ${ms(result.timings.publishMs)}, stack ${ms(result.timings.stackMs)})\n`,
      );
      io.stdout(`${describeDeployment(result.deployment)}\n`);
      for (const m of result.manifests) {
        const state = !m.signed ? "unchanged" : m.previousHash ? `was ${m.previousHash}` : "first deploy";
        io.stdout(`signed manifest of site ${m.site}: hash ${m.hash} (${state})\n`);
      }
      const changed = changedManifestHashes(result.manifests);
      if (changed.length > 0) {
        io.stdout(
          `manifest hash changed for site${changed.length > 1 ? "s" : ""} ${changed.map((m) => m.site).join(", ")}: agents there that pin manifestHashes must list the new hash (agents trusting the signing key need no change)\n`,
        );
        for (const m of changed) io.stdout(`  ${m.site}: ${m.previousHash} → ${m.hash}\n`);
      }
      if (values["agent-configs"]) {
        const dir = resolve(io.cwd, values["agent-configs"]);
        const pin = values["pin-manifest-hashes"] ?? false;
        const hashes = Object.fromEntries(result.manifests.map((m) => [m.site, m.hash]));
        for (const file of writeAgentConfigs(dir, result.deployment, context, pin ? { hashes } : {}))
          io.stdout(`wrote ${file}\n`);
      }
      return 0;
    } catch (error) {
      return reportDeployError("deploy", error, io);
    }
  },
};

function ms(value: number): string {
  return `${(value / 1000).toFixed(1)} s`;
}

/** The outputs people and agents need, as a table. */
export function describeDeployment(d: WorkflowDeployment): string {
  const rows = [
    ["state machine", d.stateMachineArn],
    ["job bucket", d.jobBucket],
    ["manifest", d.manifestS3Uri],
    ...(d.manifestSigningKeyArn ? [["manifest signing key", d.manifestSigningKeyArn]] : []),
    ["parameter", d.deploymentParameterName],
    ...(d.cacheTable ? [["step cache table", d.cacheTable]] : []),
    ...Object.values(d.queues).flatMap((q) => [
      [`queue ${q.id}`, `${q.url}  (${q.executor} on ${q.site}: ${q.steps.join(", ")})`],
      ...(q.deadLetterUrl ? [[`  dead letters`, q.deadLetterUrl]] : []),
    ]),
  ];
  return table(rows);
}

/**
 * One `ferry agent` config per edge site: its queues (with dead-letter
 * queues), its signed manifest with the key it must be signed by (or, with
 * `pin.hashes`, the manifest hash pinned instead), the step cache when the
 * stack has one, and the endpoint. Returns
 * the files written.
 */
export function writeAgentConfigs(
  dir: string,
  d: WorkflowDeployment,
  context: AwsContext,
  pin: { hashes?: Record<string, string> } = {},
): string[] {
  mkdirSync(dir, { recursive: true });
  const bySite = new Map<string, WorkflowDeployment["queues"][string][]>();
  for (const q of Object.values(d.queues)) {
    if (q.executor !== "agent") continue;
    bySite.set(q.site, [...(bySite.get(q.site) ?? []), q]);
  }
  return [...bySite].map(([site, queues]) => {
    const file = join(dir, `agent-${site}.json`);
    const config = {
      site,
      queues: queues.map((q) => ({
        url: q.url,
        ...(q.deadLetterUrl ? { deadLetterUrl: q.deadLetterUrl } : {}),
      })),
      // The site's own manifest, as signed at deploy: its policy reads no other.
      manifests: [queues[0]!.signedManifestS3Uri ?? queues[0]!.manifestS3Uri ?? d.manifestS3Uri],
      ...(pin.hashes?.[site]
        ? { manifestHashes: [pin.hashes[site]] }
        : d.manifestSigningKeyArn
          ? { manifestSigningKey: d.manifestSigningKeyArn }
          : {}),
      // Messages naming another bucket are dead-lettered.
      jobBuckets: [d.jobBucket],
      // Cached steps look up and write the stack's index; entries' files go to this site's cache segment.
      ...(d.cacheTable ? { stepCache: { bucket: d.jobBucket, table: d.cacheTable } } : {}),
      aws: { region: d.region, ...(context.endpoint ? { endpoint: context.endpoint } : {}) },
    };
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    return file;
  });
}
