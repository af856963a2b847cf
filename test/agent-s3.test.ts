import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3JobFileStore } from "@ferry/edge-agent/aws";
import { beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig, requireLocalStack, uniqueName } from "./support/env.ts";

// Job files on real S3 (LocalStack): staging through the content-addressed
// cache, uploads under the execution's prefix, and missing files named.
describe("S3JobFileStore (LocalStack)", () => {
  const s3 = new S3Client({ ...awsClientConfig(), forcePathStyle: true });
  const bucket = uniqueName("ferry-agent-s3");
  let cacheDir: string;
  let work: string;

  beforeAll(async () => {
    await requireLocalStack(["s3"]);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    work = await mkdtemp(join(tmpdir(), "ferry-s3-"));
    cacheDir = join(work, "cache");
  });

  it("uploads under the writing site's keys and downloads the same bytes, fetching each object once", async () => {
    const store = new S3JobFileStore({ client: s3, cacheDir });
    const src = join(work, "data.csv");
    await writeFile(src, "a,b\n1,2\n");
    await store.upload({ bucket, prefix: "wf/exec-1/", site: "lab" }, "in/data.csv", src);
    await store.upload({ bucket, prefix: "wf/exec-2/", site: "lab" }, "in/data.csv", src);
    const raw = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "wf/lab/exec-1/in/data.csv" }));
    expect(await raw.Body!.transformToString()).toBe("a,b\n1,2\n");

    await store.download(
      { bucket, prefix: "wf/exec-1/", site: "lab" },
      "in/data.csv",
      join(work, "job1", "in", "data.csv"),
    );
    await store.download(
      { bucket, prefix: "wf/exec-2/", site: "lab" },
      "in/data.csv",
      join(work, "job2", "in", "data.csv"),
    );
    expect(await readFile(join(work, "job2", "in", "data.csv"), "utf8")).toBe("a,b\n1,2\n");
    await store.download(
      { bucket, prefix: "wf/exec-1/", site: "lab" },
      "in/data.csv",
      join(work, "job3", "in", "data.csv"),
    );
    // One entry per object identity (bucket, key, ETag, version): the same key twice is fetched once.
    expect(
      (await readdir(cacheDir)).filter((f) => !f.endsWith(".part") && !f.endsWith(".json")),
    ).toHaveLength(2);
  });

  it("puts and gets small objects (large outputs passed by reference)", async () => {
    const store = new S3JobFileStore({ client: s3 });
    await store.put({ bucket, prefix: "wf/exec-3/", site: "lab" }, ".ferry/outputs/x.json", '{"big":true}');
    expect(
      (await store.get({ bucket, prefix: "wf/exec-3/", site: "lab" }, ".ferry/outputs/x.json")).toString(),
    ).toBe('{"big":true}');
  });

  it("names a missing input", async () => {
    const store = new S3JobFileStore({ client: s3, cacheDir });
    const error = await store
      .download({ bucket, prefix: "wf/exec-9/", site: "lab" }, "nope.csv", join(work, "job9", "nope.csv"))
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("JOB_FILES_FAILED");
    expect((error as Error).message).toContain(`s3://${bucket}/wf/lab/exec-9/nope.csv`);
  });
});
