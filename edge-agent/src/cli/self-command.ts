import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { resolve } from "node:path";

/** The name of the ELF note postject gives the single-executable application's blob. */
const SEA_NOTE = "NODE_SEA_BLOB";
const PT_NOTE = 4;
/** Bounds on the headers read: an ELF file is untrusted input like any other. */
const MAX_PROGRAM_HEADERS = 256;
const MAX_NOTES_PER_SEGMENT = 64;

/** What the built agent knows about how it was started. */
export interface StartFacts {
  execPath: string;
  execArgv: readonly string[];
  /** `process.argv`: in an executable `[execPath, program as started, ...args]`. */
  argv: readonly string[];
  /** Runs as the single-executable application (`node:sea` isSea()). */
  isSea: boolean;
  /** The command line the kernel started (`/proc/self/cmdline`); undefined where there is none. */
  cmdline: readonly string[] | undefined;
  cwd: string;
  /** True when `file` holds the agent's code. @default {@link holdsSeaBlob} */
  holdsAgent?: (file: string) => boolean;
}

/**
 * How this program starts itself again: the prefix of the command that runs
 * it with other arguments (its idle-memory restart, `<self> function-host`).
 * The bundle runs under the Node that runs it; the executable is its own Node,
 * unless execPath does not hold the agent's code: a program loader started it
 * (the Fargate wrapper runs `ld-linux… --library-path … ferry-agent`), so the
 * loader is started again with its options and the program, as the kernel's
 * command line shows them. Undefined when that command line does not end with
 * this program and its arguments.
 */
export function selfCommand(facts: StartFacts): string[] | undefined {
  if (!facts.isSea) return [facts.execPath, ...facts.execArgv, facts.argv[1]!];
  if ((facts.holdsAgent ?? holdsSeaBlob)(facts.execPath)) return [facts.execPath];
  const program = facts.argv[1];
  const args = facts.argv.slice(2);
  const cmdline = facts.cmdline ?? [];
  const at = cmdline.length - args.length - 1;
  if (program === undefined || at < 1 || cmdline[at] !== program) return undefined;
  if (args.some((arg, i) => cmdline[at + 1 + i] !== arg)) return undefined;
  // Absolute: the function host starts in a step's folder, not where the agent was started.
  return [facts.execPath, ...cmdline.slice(1, at), resolve(facts.cwd, program)];
}

/** This process's `/proc/self/cmdline`, or undefined where it cannot be read (not Linux). */
export function ownCommandLine(): string[] | undefined {
  try {
    const text = readFileSync("/proc/self/cmdline", "utf8");
    // NUL-terminated arguments: the last split element is the empty string after the final NUL.
    return text.split("\0").slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * True when `file` is a 64-bit little-endian ELF file carrying a Node
 * single-executable blob (postject's `NODE_SEA_BLOB` note): the agent's own
 * executable, not the loader or emulator that may run it. Reads only the
 * ELF and note headers; any unreadable or malformed file is false.
 */
export function holdsSeaBlob(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return false;
  }
  try {
    const read = (offset: number, length: number): Buffer | undefined => {
      const buffer = Buffer.alloc(length);
      return readSync(fd, buffer, 0, length, offset) === length ? buffer : undefined;
    };
    const header = read(0, 64);
    if (!header) return false;
    // ELFCLASS64 (2), ELFDATA2LSB (1): x64 and arm64, the two architectures Ferry ships.
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false;
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = Math.min(header.readUInt16LE(0x38), MAX_PROGRAM_HEADERS);
    if (phentsize < 56) return false;
    for (let i = 0; i < phnum; i++) {
      const ph = read(phoff + i * phentsize, 56);
      if (!ph) return false;
      if (ph.readUInt32LE(0) !== PT_NOTE) continue;
      const start = Number(ph.readBigUInt64LE(8));
      const end = start + Number(ph.readBigUInt64LE(32));
      let at = start;
      for (let n = 0; n < MAX_NOTES_PER_SEGMENT && at + 12 <= end; n++) {
        const note = read(at, 12);
        if (!note) break;
        const nameSize = note.readUInt32LE(0);
        const descSize = note.readUInt32LE(4);
        if (
          nameSize === SEA_NOTE.length + 1 &&
          read(at + 12, nameSize)?.toString("latin1") === `${SEA_NOTE}\0`
        )
          return true;
        at += 12 + align4(nameSize) + align4(descSize);
      }
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

const align4 = (n: number) => (n + 3) & ~3;
