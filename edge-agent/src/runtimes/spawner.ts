import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";

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
// Errors here are only read for their code and message: a step's group is mostly gone (ESRCH) when it is killed at exit.
Error.stackTraceLimit = 0;
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
const { writeFileSync } = require("node:fs");
process.on("message", (m) => {
  if (m.op === "spawn" && m.inputFile) {
    // In the helper, so the agent's event loop never waits for the disk; at once, as the spawn after it
    // blocks the helper anyway (the thread pool took three hops, open, write and close, per step).
    try {
      writeFileSync(m.inputFile, m.input);
    } catch (error) {
      send({ op: "error", id: m.id, code: error.code, message: "cannot write the input file: " + error.message });
      return;
    }
    start(m);
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
 * The helper's Node flags. Fork copies the helper's page tables and every
 * page it touches afterwards faults once, per step: a 1 MiB young generation
 * and no V8 worker threads keep it small (a third less CPU per step here).
 */
const HELPER_FLAGS = ["--max-semi-space-size=1", "--single-threaded"];

/**
 * Most helpers of one spawner. A spawn blocks its helper until the child has
 * exec'd (libuv forks and waits for the exec), on a busy machine for
 * milliseconds of scheduling: a second helper starts the next step meanwhile.
 */
const MAX_HELPERS = Math.min(4, availableParallelism());

interface Helper {
  child: ChildProcess;
  /** Its steps that have not ended. */
  running: number;
}

/**
 * Spawns step processes from small long-lived helper processes, so that a
 * wide level of short steps does not fork the big agent process once per
 * step (and block its event loop meanwhile). Process groups, signals and
 * the step user's `setpriv` prefix work as inline: a helper inherits the
 * agent's user and ambient capabilities. A step goes to the least busy
 * helper; another one starts only while every helper has a step running
 * (a chain of steps keeps one). If a helper dies, its running steps fail to
 * start or end, and the next spawn starts a new helper.
 */
export class HelperSpawner implements Spawner {
  private readonly helpers: Helper[] = [];
  private readonly processes = new Map<number, { process: HelperProcess; helper: Helper }>();
  private nextId = 1;

  spawn(request: SpawnRequest): StepProcess {
    const helper = this.pick();
    const id = this.nextId++;
    const process = new HelperProcess(
      id,
      (message) => this.post(helper, message),
      request.reportPid === true,
    );
    this.processes.set(id, { process, helper });
    if (++helper.running === 1) this.ref(helper, true);
    this.post(helper, { op: "spawn", id, ...request });
    return process;
  }

  /** Starts a helper now, so the first step does not wait for it to boot. */
  warmUp(): void {
    if (this.helpers.length === 0) this.start();
  }

  async close(): Promise<void> {
    const helpers = this.helpers.splice(0);
    await Promise.all(
      helpers.map(({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        return new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.ref();
          child.disconnect();
        });
      }),
    );
  }

  private pick(): Helper {
    let least: Helper | undefined;
    for (const helper of this.helpers)
      if (helper.child.connected && (!least || helper.running < least.running)) least = helper;
    if (least && (least.running === 0 || this.helpers.length >= MAX_HELPERS)) return least;
    return this.start();
  }

  private start(): Helper {
    // Bare node: no loader flags, no inherited --import of a TypeScript runner.
    const child = spawn(process.execPath, [...HELPER_FLAGS, "-e", HELPER_SOURCE], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      env: {},
    });
    const helper: Helper = { child, running: 0 };
    child.on("message", (message: HelperMessage) => this.onMessage(message));
    const gone = (why: string) => {
      const index = this.helpers.indexOf(helper);
      if (index >= 0) this.helpers.splice(index, 1);
      for (const [id, entry] of this.processes) {
        if (entry.helper !== helper) continue;
        this.processes.delete(id);
        entry.process.lost(why);
      }
      helper.running = 0;
    };
    // "on", not "once": a second error (a send racing the helper's exit) must not go unhandled and crash the agent.
    child.on("error", (error) => gone(`the spawner helper failed: ${error.message}`));
    child.once("exit", (code, signal) => gone(`the spawner helper exited (${signal ?? `code ${code}`})`));
    this.helpers.push(helper);
    this.ref(helper, false);
    return helper;
  }

  /** A helper keeps the agent alive only while its steps run. */
  private ref({ child }: Helper, on: boolean): void {
    const channel = child.channel as { ref(): void; unref(): void } | undefined;
    if (on) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  }

  private post({ child }: Helper, message: object): void {
    // A send that fails because the helper just died is reported through its "exit": the steps are lost then.
    if (child.connected) child.send(message, undefined, {}, () => {});
  }

  private onMessage(message: HelperMessage): void {
    if (message.op === "warn") return;
    const entry = this.processes.get(message.id);
    if (!entry) return;
    if (message.op === "close" || message.op === "error") {
      this.processes.delete(message.id);
      if (--entry.helper.running === 0) this.ref(entry.helper, false);
    }
    entry.process.receive(message);
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
