import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";

/** What a step process needs to start: the program, where, with what environment and stdin. */
export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input: string;
}

/**
 * A started step process, leading its own process group. Events: `error`
 * (could not start, `NodeJS.ErrnoException`), `exit` (whatever the step left
 * in its group has been sent SIGKILL), then `close(code)` once its output
 * ended.
 */
export interface StepProcess extends EventEmitter {
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Signals the whole group; a group already gone is fine. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Stops waiting for output (a daemon that left the group may hold it open); `close` follows. */
  destroyStdio(): void;
}

/** Starts step processes. */
export interface Spawner {
  spawn(request: SpawnRequest): StepProcess;
  close(): Promise<void>;
}

/**
 * Forks from this process. Simple, but fork copies the page tables of the
 * whole (large) Node process and blocks its event loop for that time: a few
 * ms per step, the floor of wide levels of short steps.
 */
export class InlineSpawner implements Spawner {
  spawn(request: SpawnRequest): StepProcess {
    const child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new InlineProcess(child, request.input);
  }

  async close(): Promise<void> {}
}

class InlineProcess extends EventEmitter implements StepProcess {
  constructor(
    private readonly child: ChildProcess,
    input: string,
  ) {
    super();
    child.once("error", (error) => this.emit("error", error));
    child.once("exit", () => {
      signalGroupOf(child.pid, "SIGKILL");
      this.emit("exit");
    });
    child.once("close", (code) => this.emit("close", code));
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

  destroyStdio(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
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
const HELPER_SOURCE = String.raw`
const { spawn } = require("node:child_process");
const children = new Map();
const send = (message) => { if (process.connected) process.send(message); };
const signalGroup = (pid, signal) => {
  if (pid === undefined) return;
  try { process.kill(-pid, signal); } catch (error) { if (error.code !== "ESRCH") send({ op: "warn", message: String(error) }); }
};
process.on("message", (m) => {
  if (m.op === "spawn") {
    let child;
    try {
      child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      send({ op: "error", id: m.id, code: error.code, message: error.message });
      return;
    }
    children.set(m.id, child);
    child.once("error", (error) => { children.delete(m.id); send({ op: "error", id: m.id, code: error.code, message: error.message }); });
    if (child.pid !== undefined) send({ op: "pid", id: m.id, pid: child.pid });
    child.stdout.on("data", (data) => send({ op: "stdout", id: m.id, data }));
    child.stderr.on("data", (data) => send({ op: "stderr", id: m.id, data }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(m.input);
    child.once("exit", () => { signalGroup(child.pid, "SIGKILL"); send({ op: "exit", id: m.id }); });
    child.once("close", (code) => { children.delete(m.id); send({ op: "close", id: m.id, code }); });
  } else if (m.op === "signal") {
    signalGroup(children.get(m.id)?.pid, m.signal);
  } else if (m.op === "destroy-stdio") {
    const child = children.get(m.id);
    child?.stdout.destroy();
    child?.stderr.destroy();
  }
});
process.on("disconnect", () => process.exit(0));
`;

type HelperMessage =
  | { op: "pid"; id: number; pid: number }
  | { op: "error"; id: number; code?: string; message: string }
  | { op: "stdout" | "stderr"; id: number; data: Uint8Array }
  | { op: "exit"; id: number }
  | { op: "close"; id: number; code: number | null }
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
    const process = new HelperProcess(id, (message) => this.post(helper, message));
    this.processes.set(id, process);
    if (this.processes.size === 1) this.ref(helper, true);
    this.post(helper, { op: "spawn", id, ...request });
    return process;
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
    if (this.helper && this.helper.connected) return this.helper;
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
    helper.once("error", (error) => gone(`the spawner helper failed: ${error.message}`));
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
    if (helper.connected) helper.send(message);
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

  constructor(
    private readonly id: number,
    private readonly post: (message: object) => void,
  ) {
    super();
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

  destroyStdio(): void {
    this.post({ op: "destroy-stdio", id: this.id });
  }

  receive(message: Exclude<HelperMessage, { op: "warn" }>): void {
    if (this.ended) return;
    switch (message.op) {
      case "stdout":
        this.stdout?.(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
        break;
      case "stderr":
        this.stderr?.(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
        break;
      case "exit":
        this.emit("exit");
        break;
      case "close":
        this.ended = true;
        this.emit("close", message.code);
        break;
      case "error":
        this.ended = true;
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
    this.emit("error", Object.assign(new Error(why), { code: "ESPAWNER" }));
  }
}
