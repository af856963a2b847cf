import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { zipDirectory } from "./zip-directory.ts";

/** Reads a zip's central directory back: name → content. */
function unzip(zip: Buffer): Record<string, string> {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const crc = zip.readUInt32LE(at + 16);
    const packedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = inflateRawSync(zip.subarray(dataAt, dataAt + packedSize));
    expect(crc32(data)).toBe(crc);
    files[name] = data.toString("utf8");
    at += 46 + nameLength;
  }
  return files;
}

describe("zipDirectory", () => {
  it("zips every file under the directory with forward-slash paths, and zips it the same way twice", () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-zip-"));
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "index.mjs"), "export const handler = () => ({});\n");
    writeFileSync(join(dir, "lib", "data.json"), JSON.stringify({ rows: [1, 2, 3] }));
    const zip = zipDirectory(dir);
    expect(unzip(zip)).toEqual({
      "index.mjs": "export const handler = () => ({});\n",
      "lib/data.json": '{"rows":[1,2,3]}',
    });
    expect(zipDirectory(dir).equals(zip)).toBe(true);
  });
});
