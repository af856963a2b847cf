import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { holdsSeaBlob, ownCommandLine, type StartFacts, selfCommand } from "./self-command.ts";

const dir = mkdtempSync(join(tmpdir(), "ferry-self-command-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal 64-bit little-endian ELF file with one PT_NOTE segment holding notes of these names. */
function elfWithNotes(names: string[]): Buffer {
  const align4 = (n: number) => (n + 3) & ~3;
  const notes = Buffer.concat(
    names.map((name) => {
      const nameBytes = Buffer.from(`${name}\0`, "latin1");
      const note = Buffer.alloc(12 + align4(nameBytes.length) + 8);
      note.writeUInt32LE(nameBytes.length, 0);
      note.writeUInt32LE(8, 4);
      nameBytes.copy(note, 12);
      return note;
    }),
  );
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header[5] = 1;
  header.writeBigUInt64LE(64n, 0x20);
  header.writeUInt16LE(56, 0x36);
  header.writeUInt16LE(1, 0x38);
  const ph = Buffer.alloc(56);
  ph.writeUInt32LE(4, 0);
  ph.writeBigUInt64LE(120n, 8);
  ph.writeBigUInt64LE(BigInt(notes.length), 32);
  return Buffer.concat([header, ph, notes]);
}

function file(name: string, content: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe("holdsSeaBlob", () => {
  it("given an ELF file whose notes include NODE_SEA_BLOB, then it holds the agent; without it, not", () => {
    expect(holdsSeaBlob(file("sea", elfWithNotes(["GNU", "NODE_SEA_BLOB"])))).toBe(true);
    expect(holdsSeaBlob(file("plain", elfWithNotes(["GNU", "NODE_SEA_BLOBX"])))).toBe(false);
  });

  it("given Node itself, a script, a truncated ELF or no file, then false (never a throw)", () => {
    expect(holdsSeaBlob(process.execPath)).toBe(false);
    expect(holdsSeaBlob(file("script", "#!/bin/sh\n"))).toBe(false);
    expect(holdsSeaBlob(file("truncated", elfWithNotes(["NODE_SEA_BLOB"]).subarray(0, 100)))).toBe(false);
    expect(holdsSeaBlob(join(dir, "missing"))).toBe(false);
  });
});

describe("selfCommand", () => {
  const facts = (over: Partial<StartFacts>): StartFacts => ({
    execPath: "/opt/ferry/ferry-agent",
    execArgv: [],
    argv: ["/opt/ferry/ferry-agent", "ferry-agent", "--config", "a.yaml"],
    isSea: true,
    cmdline: ["ferry-agent", "--config", "a.yaml"],
    cwd: "/var/lib/ferry",
    holdsAgent: (path) => path === "/opt/ferry/ferry-agent",
    ...over,
  });

  it("given the executable started as itself, then it is its own Node", () => {
    expect(selfCommand(facts({}))).toEqual(["/opt/ferry/ferry-agent"]);
  });

  it("given the bundle, then the Node running it with its options and the bundle", () => {
    expect(
      selfCommand(
        facts({
          isSea: false,
          execPath: "/usr/bin/node",
          execArgv: ["--max-old-space-size=64"],
          argv: ["/usr/bin/node", "/opt/ferry/ferry-agent.mjs", "--config", "a.yaml"],
        }),
      ),
    ).toEqual(["/usr/bin/node", "--max-old-space-size=64", "/opt/ferry/ferry-agent.mjs"]);
  });

  it("given the executable started by the dynamic loader (the Fargate wrapper), then the loader with its options and the program", () => {
    const loader = "/ferry/agent/lib/ld-linux-x86-64.so.2";
    expect(
      selfCommand(
        facts({
          execPath: loader,
          argv: [loader, "agent/ferry-agent", "--config", "a.yaml"],
          cmdline: [loader, "--library-path", "/ferry/agent/lib", "agent/ferry-agent", "--config", "a.yaml"],
          cwd: "/ferry",
        }),
      ),
    ).toEqual([loader, "--library-path", "/ferry/agent/lib", "/ferry/agent/ferry-agent"]);
  });

  it("given a loader's command line that does not end with the program and its arguments, then none", () => {
    const loader = "/lib/ld-linux-x86-64.so.2";
    const argv = [loader, "/opt/ferry-agent", "--config", "a.yaml"];
    for (const cmdline of [
      undefined,
      [loader, "/opt/other", "--config", "a.yaml"],
      [loader, "/opt/ferry-agent", "--config", "b.yaml"],
      ["/opt/ferry-agent", "--config", "a.yaml"],
    ])
      expect(selfCommand(facts({ execPath: loader, argv, cmdline }))).toBeUndefined();
  });
});

describe("ownCommandLine", () => {
  it("is this process's arguments as the kernel holds them", () => {
    expect(ownCommandLine()?.at(-1)).toBe(process.argv.at(-1));
  });
});
