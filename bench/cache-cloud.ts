// Cloud step cache lookup cost on LocalStack: round trips and time per lookup
// that hits (the DynamoDB index read), against a plain S3 GetObject of the
// same entry as the baseline measured in the same run.
// Run (LocalStack on 127.0.0.1:4566): npx tsx bench/cache-cloud.ts [--lookups 200]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type CacheEntry, cacheKey, canonicalJson, sha256 } from "@ferry/dsl-compiler/contract";
import { S3StepCache } from "@ferry/edge-agent/aws";

const { values } = parseArgs({ options: { lookups: { type: "string", default: "200" } } });
const config = {
  endpoint: process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:4566",
  region: process.env.AWS_REGION ?? "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
};
let calls = 0;
const count = { step: "initialize" as const, name: "countCalls" };
const s3 = new S3Client({ ...config, forcePathStyle: true });
const dynamodb = new DynamoDBClient(config);
s3.middlewareStack.add(
  (next) => async (args) => {
    calls++;
    return next(args);
  },
  count,
);
dynamodb.middlewareStack.add(
  (next) => async (args) => {
    calls++;
    return next(args);
  },
  count,
);
const suffix = Date.now().toString(36);
const bucket = `ferry-bench-cache-${suffix}`;
const table = `ferry-bench-cache-${suffix}`;
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
await dynamodb.send(
  new CreateTableCommand({
    TableName: table,
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
  }),
);
const cache = new S3StepCache({ s3, dynamodb, bucket, table, site: "lab" });
const scope = { workflow: "bench", site: "lab", step: "train" };
const jobDir = mkdtempSync(join(tmpdir(), "ferry-bench-cache-cloud-"));
mkdirSync(jobDir, { recursive: true });
writeFileSync(join(jobDir, "model.bin"), "weights\n");
const output = { accuracy: 0.93 };
const key = sha256("bench-key");
const entry: CacheEntry = {
  v: 1,
  key,
  step: "train",
  definitionHash: sha256("definition"),
  output,
  outputSha256: sha256(canonicalJson(output)),
  files: [{ name: "model.bin", sha256: sha256("weights\n"), sizeBytes: 8 }],
  origin: { workflow: "bench", execution: "e1", step: "train", attempt: 1, site: "lab" },
  createdAt: new Date().toISOString(),
};
await cache.write(scope, entry, jobDir);

const n = Number(values.lookups);
const time = async (what: () => Promise<unknown>) => {
  for (let i = 0; i < 10; i++) await what(); // warm the connections
  calls = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await what();
  return { ms: (performance.now() - t0) / n, roundTrips: calls / n };
};
const lookup = await time(async () => {
  const found = await cache.lookup(scope, key);
  if (!found.hit) throw new Error("the entry did not hit");
});
const baseline = await time(async () => {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: cacheKey("bench", "lab", "train", key) }),
  );
  await out.Body!.transformToString();
});
console.log(`cloud step cache lookup on LocalStack (${n} hits):`);
console.log(
  `  lookup: ${lookup.roundTrips.toFixed(2)} round trips, ${lookup.ms.toFixed(2)} ms per step (entry check included)`,
);
console.log(
  `  baseline, one S3 GetObject of the same entry: ${baseline.roundTrips.toFixed(2)} round trips, ${baseline.ms.toFixed(2)} ms`,
);
rmSync(jobDir, { recursive: true, force: true });
