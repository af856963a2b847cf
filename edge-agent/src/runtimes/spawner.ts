import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";

/** What a step process needs to start: the program, where, with what environment and stdin. */
export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input: string;
  /** Also written to this file before the process starts. */
  inputFile?: string;
  /** How long output may keep flowing after the process exited (a daemon that left the group may hold it open). */
  drainMs: number;
  /** Resolve `StepProcess.pid` (the helper then sends it back: one more message per step). */
  reportPid?: boolean;
}

/**
 * A started step process, leading its own process group. Events: `error`
 * (could not start, `NodeJS.ErrnoException`), or `close(code)` once it
 * exited and its output ended. When it exits, whatever it left in its group
 * is sent SIGKILL, and output still open after `drainMs` is cut off.
 */
export interface StepProcess extends EventEmitter {
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Signals the whole group; a group already gone is fine. */
  signalGroup(signal: NodeJS.Signals): void;
  /**
   * The pid (and so the process group id) once started; undefined if it did
   * not start, or the request did not ask for it (`reportPid`).
   */
  readonly pid: Promise<number | undefined>;
}

/** Starts step processes. */
export interface Spawner {
  spawn(request: SpawnRequest): StepProcess;
  /** Prepares what the first spawn needs. */
  warmUp(): void;
  close(): Promise<void>;
}

/**
 * Forks from this process. Simple, but fork copies the page tables of the
 * whole (large) Node process and blocks its event loop for that time: a few
 * ms per step, the floor of wide levels of short steps.
 */
export class InlineSpawner implements Spawner {
  spawn(request: SpawnRequest): StepProcess {
    if (request.inputFile) writeFileSync(request.inputFile, request.input);
    const child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new InlineProcess(child, request.input, request.drainMs);
  }

  warmUp(): void {}

  async close(): Promise<void> {}
}

class InlineProcess extends EventEmitter implements StepProcess {
  readonly pid: Promise<number | undefined>;

  constructor(
    private readonly child: ChildProcess,
    input: string,
    drainMs: number,
  ) {
    super();
    this.pid = Promise.resolve(child.pid);
    let drain: NodeJS.Timeout | undefined;
    child.once("error", (error) => this.emit("error", error));
    child.once("exit", () => {
      signalGroupOf(child.pid, "SIGKILL");
      drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, drainMs);
      drain.unref();
    });
    child.once("close", (code) => {
      clearTimeout(drain);
      this.emit("close", code);
    });
    // A step that never reads stdin closes it early; EPIPE is then expected.
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(input);
  }

  onStdout(listener: (chunk: Buffer) => void): void {
    this.child.stdout!.on("data", listener);
  }

  onStderr(listener: (chunk: Buffer) => void): void {
    this.child.stderr!.on("data", listener);
  }

  signalGroup(signal: NodeJS.Signals): void {
    signalGroupOf(this.child.pid, signal);
  }
}

/** Signals process group `pid`; ESRCH (already gone) is what was wanted. */
export function signalGroupOf(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * The helper: a bare Node process (no modules of ours, so forking it is
 * cheap) that spawns each step in its own process group and relays its
 * output and end over the IPC channel. Kept as source text so it runs the
 * same from sources and from a bundle. It exits when its parent goes.
 */
const HELPER_SOURCE = `
const { spawn } = require("node:child_process");
// Output is sent in chunks of this size, the rest with the end: a no-op step costs one message each way.
const FLUSH_BYTES = 65536;
const children = new Map();
// With a callback a failed send (the parent just went: EPIPE) is not an unhandled error; "disconnect" ends the helper.
const send = (message) => { if (process.connected) process.send(message, undefined, {}, () => {}); };
const signalGroup = (pid, signal) => {
  if (pid === undefined) return;
  try { process.kill(-pid, signal); } catch (error) { if (error.code !== "ESRCH") send({ op: "warn", message: String(error) }); }
};
const collect = (id, stream, name) => {
  let parts = [];
  let bytes = 0;
  stream.on("data", (data) => {
    parts.push(data);
    bytes += data.length;
    if (bytes >= FLUSH_BYTES) { send({ op: "output", id, stream: name, data: Buffer.concat(parts) }); parts = []; bytes = 0; }
  });
  return () => (bytes > 0 ? Buffer.concat(parts) : undefined);
};
const { writeFile } = require("node:fs");
process.on("message", (m) => {
  if (m.op === "spawn" && m.inputFile) {
    // Through the helper's thread pool: the agent's event loop never waits for the disk.
    writeFile(m.inputFile, m.input, (error) => {
      if (error) send({ op: "error", id: m.id, code: error.code, message: "cannot write the input file: " + error.message });
      else start(m);
    });
  } else if (m.op === "spawn") {
    start(m);
  } else if (m.op === "signal") {
    signalGroup(children.get(m.id)?.pid, m.signal);
  }
});
function start(m) {
  {
    let child;
    try {
      child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      send({ op: "error", id: m.id, code: error.code, message: error.message });
      return;
    }
    children.set(m.id, child);
    if (m.reportPid) send({ op: "spawned", id: m.id, pid: child.pid });
    child.once("error", (error) => { children.delete(m.id); send({ op: "error", id: m.id, code: error.code, message: error.message }); });
    const stdout = collect(m.id, child.stdout, "stdout");
    const stderr = collect(m.id, child.stderr, "stderr");
    child.stdin.on("error", () => undefined);
    child.stdin.end(m.input);
    let drain;
    child.once("exit", () => {
      signalGroup(child.pid, "SIGKILL");
      drain = setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); }, m.drainMs);
    });
    child.once("close", (code) => {
      clearTimeout(drain);
      children.delete(m.id);
      send({ op: "close", id: m.id, code, stdout: stdout(), stderr: stderr() });
    });
  }
}
process.on("disconnect", () => process.exit(0));
`;

type HelperMessage =
  | { op: "error"; id: number; code?: string; message: string }
  | { op: "spawned"; id: number; pid?: number }
  | { op: "output"; id: number; stream: "stdout" | "stderr"; data: Uint8Array }
  | { op: "close"; id: number; code: number | null; stdout?: Uint8Array; stderr?: Uint8Array }
  | { op: "warn"; message: string };

/**
 * Spawns step processes from a small long-lived helper process, so that a
 * wide level of short steps does not fork the big agent process once per
 * step (and block its event loop meanwhile). Process groups, signals and
 * the step user's `setpriv` prefix work as inline: the helper inherits the
 * agent's user and ambient capabilities. If the helper dies, its running
 * steps fail to start or end, and the next spawn starts a new helper.
 */
export class HelperSpawner implements Spawner {
  private helper: ChildProcess | undefined;
  private readonly processes = new Map<number, HelperProcess>();
  private nextId = 1;

  spawn(request: SpawnRequest): StepProcess {
    const helper = this.ensureHelper();
    const id = this.nextId++;
    const process = new HelperProcess(
      id,
      (message) => this.post(helper, message),
      request.reportPid === true,
    );
    this.processes.set(id, process);
    if (this.processes.size === 1) this.ref(helper, true);
    this.post(helper, { op: "spawn", id, ...request });
    return process;
  }

  /** Starts the helper now, so the first step does not wait for it to boot. */
  warmUp(): void {
    this.ensureHelper();
  }

  async close(): Promise<void> {
    const helper = this.helper;
    this.helper = undefined;
    if (!helper || helper.exitCode !== null || helper.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      helper.once("exit", () => resolve());
      helper.ref();
      helper.disconnect();
    });
  }

  private ensureHelper(): ChildProcess {
    if (this.helper?.connected) return this.helper;
    // Bare node: no loader flags, no inherited --import of a TypeScript runner.
    const helper = spawn(process.execPath, ["-e", HELPER_SOURCE], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      env: {},
    });
    helper.on("message", (message: HelperMessage) => this.onMessage(message));
    const gone = (why: string) => {
      if (this.helper === helper) this.helper = undefined;
      for (const [id, p] of this.processes) {
        this.processes.delete(id);
        p.lost(why);
      }
    };
    // "on", not "once": a second error (a send racing the helper's exit) must not go unhandled and crash the agent.
    helper.on("error", (error) => gone(`the spawner helper failed: ${error.message}`));
    helper.once("exit", (code, signal) => gone(`the spawner helper exited (${signal ?? `code ${code}`})`));
    this.helper = helper;
    this.ref(helper, false);
    return helper;
  }

  /** The helper keeps the agent alive only while steps run. */
  private ref(helper: ChildProcess, on: boolean): void {
    const channel = helper.channel as { ref(): void; unref(): void } | undefined;
    if (on) {
      helper.ref();
      channel?.ref();
    } else {
      helper.unref();
      channel?.unref();
    }
  }

  private post(helper: ChildProcess, message: object): void {
    // A send that fails because the helper just died is reported through its "exit": the steps are lost then.
    if (helper.connected) helper.send(message, undefined, {}, () => {});
  }

  private onMessage(message: HelperMessage): void {
    if (message.op === "warn") return;
    const p = this.processes.get(message.id);
    if (!p) return;
    if (message.op === "close" || message.op === "error") {
      this.processes.delete(message.id);
      if (this.processes.size === 0 && this.helper) this.ref(this.helper, false);
    }
    p.receive(message);
  }
}

class HelperProcess extends EventEmitter implements StepProcess {
  private stdout: ((chunk: Buffer) => void) | undefined;
  private stderr: ((chunk: Buffer) => void) | undefined;
  private ended = false;
  private resolvePid: (pid: number | undefined) => void = () => undefined;
  readonly pid = new Promise<number | undefined>((resolve) => {
    this.resolvePid = resolve;
  });

  constructor(
    private readonly id: number,
    private readonly post: (message: object) => void,
    reportPid: boolean,
  ) {
    super();
    if (!reportPid) this.resolvePid(undefined);
  }

  onStdout(listener: (chunk: Buffer) => void): void {
    this.stdout = listener;
  }

  onStderr(listener: (chunk: Buffer) => void): void {
    this.stderr = listener;
  }

  signalGroup(signal: NodeJS.Signals): void {
    this.post({ op: "signal", id: this.id, signal });
  }

  receive(message: Exclude<HelperMessage, { op: "warn" }>): void {
    if (this.ended) return;
    switch (message.op) {
      case "spawned":
        this.resolvePid(message.pid);
        break;
      case "output":
        (message.stream === "stdout" ? this.stdout : this.stderr)?.(asBuffer(message.data));
        break;
      case "close":
        this.ended = true;
        this.resolvePid(undefined);
        if (message.stdout) this.stdout?.(asBuffer(message.stdout));
        if (message.stderr) this.stderr?.(asBuffer(message.stderr));
        this.emit("close", message.code);
        break;
      case "error":
        this.ended = true;
        this.resolvePid(undefined);
        this.emit("error", Object.assign(new Error(message.message), { code: message.code }));
        break;
      default:
        break;
    }
  }

  /** The helper went away: a step not yet ended is reported as lost. */
  lost(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.resolvePid(undefined);
    this.emit("error", Object.assign(new Error(why), { code: "ESPAWNER" }));
  }
}

/** The IPC channel hands Buffers over as Uint8Arrays. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
