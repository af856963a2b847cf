// A process running as the agent's user (no docker group) that tries to get
// past `ferry engine-proxy`. Run by engine-proxy.test.ts through setpriv.
// argv: plan JSON file. Prints one JSON line: each attempt's HTTP status (or
// errno code) and message.
import { mkdirSync, readFileSync, renameSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

interface Plan {
  proxy: string;
  docker: string;
  victim: string;
  workDir: string;
  image: string;
}

const plan = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Plan;
type Answer = { status: number | string; body: string };

function call(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  upgrade = false,
): Promise<Answer> {
  return new Promise((resolve) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const req = request({
      socketPath,
      method,
      path,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        ...(upgrade ? { Connection: "Upgrade", Upgrade: "tcp" } : {}),
      },
    });
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: "upgraded" });
    });
    req.once("response", (res) => {
      let out = "";
      res.on("data", (c: Buffer) => {
        out += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: out }));
    });
    req.once("error", (error: NodeJS.ErrnoException) =>
      resolve({ status: error.code ?? "error", body: error.message }),
    );
    req.end(text);
  });
}

/** A create body as hardened as the Docker runtime's; attempts change one thing. */
function hardened(binds: string[] = []): Record<string, unknown> & { HostConfig: Record<string, unknown> } {
  return {
    Image: plan.image,
    Cmd: ["sleep", "300"],
    User: "65534:65534",
    Labels: { "dev.ferry.step": "attacker" },
    HostConfig: {
      NetworkMode: "none",
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=1m" },
      PidsLimit: 16,
      Binds: binds,
    },
  };
}

function variant(change: (body: ReturnType<typeof hardened>) => void): ReturnType<typeof hardened> {
  const body = hardened();
  change(body);
  return body;
}

const p = plan.proxy;
const out: Record<string, Answer> = {};
out.dockerSocketDirectly = await call(plan.docker, "GET", "/containers/json");
out.privileged = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.Privileged = true)),
);
out.capAdd = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.CapAdd = ["SYS_ADMIN"])),
);
out.hostRootBind = await call(p, "POST", "/containers/create", hardened(["/:/host"]));
out.hostEtcBind = await call(p, "POST", "/containers/create", hardened(["/etc:/host-etc:ro"]));
out.mountsBind = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.Mounts = [{ Type: "bind", Source: "/", Target: "/host" }])),
);
out.dockerSocketBind = await call(
  p,
  "POST",
  "/containers/create",
  hardened(["/var/run/docker.sock:/docker.sock"]),
);
// A symlink inside the allowed folder pointing at the host root.
symlinkSync("/", join(plan.workDir, "escape"));
out.symlinkBind = await call(
  p,
  "POST",
  "/containers/create",
  hardened([`${join(plan.workDir, "escape")}:/host`]),
);
out.workDirBind = await call(p, "POST", "/containers/create", hardened([`${plan.workDir}:/work`]));
mkdirSync(join(plan.workDir, ".agent"), { recursive: true });
out.agentStateBind = await call(
  p,
  "POST",
  "/containers/create",
  hardened([`${join(plan.workDir, ".agent")}:/state`]),
);
out.dotDotBind = await call(p, "POST", "/containers/create", hardened([`${plan.workDir}/../../..:/host`]));
out.hostNetwork = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.NetworkMode = "host")),
);
out.pidHost = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.PidMode = "host")),
);
out.victimNetwork = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.NetworkMode = `container:${plan.victim}`)),
);
out.devices = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.Devices = [{ PathOnHost: "/dev/mem", PathInContainer: "/dev/mem" }])),
);
out.seccompUnconfined = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.HostConfig.SecurityOpt = ["no-new-privileges", "seccomp=unconfined"])),
);
out.rootUser = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => (b.User = "0")),
);
out.imageRootUser = await call(
  p,
  "POST",
  "/containers/create",
  variant((b) => delete b.User),
);
out.execVictim = await call(p, "POST", `/containers/${plan.victim}/exec`, { Cmd: ["sh"] });
out.execVictimVersioned = await call(p, "POST", `/v1.41/containers/${plan.victim}/exec`, { Cmd: ["sh"] });
out.stopVictim = await call(p, "POST", `/containers/${plan.victim}/stop`);
out.killVictim = await call(p, "POST", `/containers/${plan.victim}/kill`);
out.removeVictim = await call(p, "DELETE", `/containers/${plan.victim}?force=true`);
out.inspectVictim = await call(p, "GET", `/containers/${plan.victim}/json`);
out.attachVictim = await call(
  p,
  "POST",
  `/containers/${plan.victim}/attach?stream=1&stdin=1&stdout=1`,
  undefined,
  true,
);
out.archiveVictim = await call(p, "GET", `/containers/${plan.victim}/archive?path=/`);
out.encodedPath = await call(p, "POST", `/containers/${plan.victim}%2Fexec`);
out.dotDotPath = await call(p, "POST", `/containers/x/../${plan.victim}/exec`);
out.info = await call(p, "GET", "/info");
out.build = await call(p, "POST", "/build");
out.importImage = await call(p, "POST", "/images/create?fromSrc=-");
out.volumeCreate = await call(p, "POST", "/volumes/create", { Name: "ferry-sec2-attacker" });
out.networkCreate = await call(p, "POST", "/networks/create", { Name: "ferry-sec2-attacker" });
out.list = await call(p, "GET", "/containers/json?all=1");
// What the runtime itself may do: a hardened container binding a folder of the work folder…
mkdirSync(join(plan.workDir, "job-attacker"));
out.hardenedCreate = await call(
  p,
  "POST",
  "/containers/create",
  hardened([`${join(plan.workDir, "job-attacker")}:/job`]),
);
const created = (JSON.parse(out.hardenedCreate.body) as { Id?: string }).Id ?? "none";
out.execOwn = await call(p, "POST", `/containers/${created}/exec`, { Cmd: ["sh"] });
// …whose folder is then swapped for a symlink to the host root before it starts.
renameSync(join(plan.workDir, "job-attacker"), join(plan.workDir, "job-attacker-old"));
symlinkSync("/", join(plan.workDir, "job-attacker"));
out.startAfterSwap = await call(p, "POST", `/containers/${created}/start`);
out.removeOwn = await call(p, "DELETE", `/containers/${created}?force=true`);
process.stdout.write(`${JSON.stringify(out)}\n`);
