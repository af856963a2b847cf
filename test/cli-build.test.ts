import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FERRY_BIN, REPO_ROOT } from "./support/ferry-cli.ts";

describe("the ferry bin picks the built CLI only while it is current", () => {
  // A checkout in miniature: the real bin, a "built" main and a "source" main that say which ran.
  const root = mkdtempSync(join(tmpdir(), "ferry-bin-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  mkdirSync(join(root, "cli", "bin"), { recursive: true });
  for (const file of ["ferry.js", "source-dirs.js", "v8-flags.js"])
    copyFileSync(join(dirname(FERRY_BIN), file), join(root, "cli", "bin", file));
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  write("package.json", '{ "type": "module" }\n');
  write(
    "cli/src/main.ts",
    'export async function main(argv: string[]): Promise<number> { console.log(["sources", ...argv].join(" ")); return 0; }\n',
  );
  // The built main says whether it runs with the young-generation flag the bin gives the
  // synthesizing commands; `deploy --count-interrupts` counts the SIGINTs it gets until a SIGTERM.
  write(
    "dist/cli/main.mjs",
    `export async function main(argv) {
  const semi = process.execArgv.find((a) => a.startsWith("--max-semi-space-size="));
  const where = semi === "--max-semi-space-size=2" ? " (small young generation)" : semi ? " (" + semi + ")" : "";
  if (argv[1] === "--count-interrupts") {
    let interrupts = 0;
    process.on("SIGINT", () => console.log("SIGINT " + ++interrupts));
    const alive = setInterval(() => {}, 60000);
    const done = new Promise((resolve) => process.once("SIGTERM", resolve));
    console.log("ready in " + process.pid + where);
    await done;
    clearInterval(alive);
    console.log("interrupts " + interrupts);
    return 0;
  }
  console.log(["built", ...argv].join(" ") + where);
  return 3;
}
`,
  );
  const stampNow = () => {
    const { mtimeMs, size } = statSync(join(root, "cli/src/main.ts"));
    const dir = statSync(join(root, "cli/src"));
    write(
      "dist/cli/stamp.json",
      JSON.stringify({
        main: "main.mjs",
        sources: [["cli/src/main.ts", mtimeMs, size]],
        dirs: [["cli/src", dir.mtimeMs, ["main.ts"]]],
      }),
    );
  };
  const ferry = (env: NodeJS.ProcessEnv = {}, args = ["validate", "x.yaml"]) => {
    const run = spawnSync(process.execPath, [join(root, "cli", "bin", "ferry.js"), ...args], {
      cwd: root,
      env: { ...process.env, FERRY_CLI_SOURCES: "", ...env },
      encoding: "utf8",
    });
    return { code: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
  };

  it("Given a current build, Then it runs; FERRY_CLI_SOURCES=1 runs the sources", () => {
    stampNow();
    expect(ferry()).toEqual({ code: 3, stdout: "built validate x.yaml", stderr: "" });
    expect(ferry({ FERRY_CLI_SOURCES: "1" })).toMatchObject({ code: 0, stdout: "sources validate x.yaml" });
  });

  it("Given a source edited after the build, or one the build names gone, Then the sources run, silently when stderr is no terminal", () => {
    stampNow();
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, "cli/src/main.ts"), later, later);
    expect(ferry()).toEqual({ code: 0, stdout: "sources validate x.yaml", stderr: "" });
    stampNow();
    expect(ferry().stdout).toBe("built validate x.yaml");
    write("dist/cli/stamp.json", JSON.stringify({ main: "main.mjs", sources: [["cli/src/gone.ts", 1, 1]] }));
    expect(ferry().stdout).toBe("sources validate x.yaml");
  });

  it("Given a source file added beside the sources after the build, Then the sources run until it is gone; tests and hidden files do not count", () => {
    stampNow();
    write("cli/src/added.ts", "export const added = 1;\n");
    expect(ferry().stdout).toBe("sources validate x.yaml");
    rmSync(join(root, "cli/src/added.ts"));
    write("cli/src/main.test.ts", "\n");
    write("cli/src/.main.ts.swp", "\n");
    expect(ferry().stdout).toBe("built validate x.yaml");
    mkdirSync(join(root, "cli/src/added"));
    expect(ferry().stdout).toBe("sources validate x.yaml");
    rmSync(join(root, "cli/src/added"), { recursive: true });
    rmSync(join(root, "cli/src/main.test.ts"));
    rmSync(join(root, "cli/src/.main.ts.swp"));
  });

  it("Given compile, deploy or functions serve, Then they run with a small young generation; --no-synth, --assembly, --help and validate run as they are", () => {
    stampNow();
    expect(ferry({}, ["compile", "x.yaml"]).stdout).toBe("built compile x.yaml (small young generation)");
    expect(ferry({}, ["compile", "x.yaml", "--no-synth"]).stdout).toBe("built compile x.yaml --no-synth");
    expect(ferry({}, ["functions", "serve", "x.yaml"]).stdout).toBe(
      "built functions serve x.yaml (small young generation)",
    );
    expect(ferry({}, ["functions", "serve", "x.yaml", "--assembly", "out"]).stdout).toBe(
      "built functions serve x.yaml --assembly out",
    );
    expect(ferry({}, ["functions", "serve", "x.yaml", "--assembly=out"]).stdout).toBe(
      "built functions serve x.yaml --assembly=out",
    );
    expect(ferry({}, ["deploy", "--help"]).stdout).toBe("built deploy --help");
    expect(ferry({}, ["validate", "x.yaml"]).stdout).toBe("built validate x.yaml");
  });

  it("Given ferry run, Then it runs with a small young generation too (a large foreach's peak memory); --help runs as it is", () => {
    stampNow();
    expect(ferry({}, ["run", "x.yaml"]).stdout).toBe("built run x.yaml (small young generation)");
    expect(ferry({}, ["run", "--help"]).stdout).toBe("built run --help");
  });

  it("Given a synthesizing command, When a terminal's Ctrl-C reaches the process group, Then the command gets it once, in the bin's own process", async () => {
    stampNow();
    // Its own process group, as a terminal's foreground job is: a signal to the group reaches each process in it.
    const bin = spawn(
      process.execPath,
      [join(root, "cli", "bin", "ferry.js"), "deploy", "--count-interrupts"],
      {
        cwd: root,
        env: { ...process.env, FERRY_CLI_SOURCES: "" },
        stdio: ["ignore", "pipe", "inherit"],
        detached: true,
      },
    );
    let stdout = "";
    const lines: Array<[string, () => void]> = [];
    bin.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const [end, resolve] of lines) if (stdout.includes(`${end}\n`)) resolve();
    });
    const closed = new Promise<number | null>((resolve) => bin.on("close", resolve));
    /** Resolves once a line ending in `end` was printed. */
    const printed = (end: string) =>
      new Promise<void>((resolve) => (stdout.includes(`${end}\n`) ? resolve() : lines.push([end, resolve])));
    try {
      await printed("(small young generation)");
      const ready = `ready in ${bin.pid} (small young generation)`;
      expect(stdout).toBe(`${ready}\n`);
      // Each press once its predecessor was handled: two signals of a kind pending at once are one.
      process.kill(-bin.pid!, "SIGINT");
      await printed("SIGINT 1");
      process.kill(-bin.pid!, "SIGINT");
      await printed("SIGINT 2");
      process.kill(bin.pid!, "SIGTERM");
      expect(await closed).toBe(0);
      expect(stdout.trim().split("\n")).toEqual([ready, "SIGINT 1", "SIGINT 2", "interrupts 2"]);
    } finally {
      // A failure leaves nothing of the group running.
      if (bin.exitCode === null && bin.signalCode === null) process.kill(-bin.pid!, "SIGKILL");
    }
  });

  it("Given no build at all (or an unreadable stamp), Then the sources run", () => {
    write("dist/cli/stamp.json", "{ not json");
    expect(ferry().stdout).toBe("sources validate x.yaml");
    rmSync(join(root, "dist"), { recursive: true, force: true });
    expect(ferry().stdout).toBe("sources validate x.yaml");
  });
});

describe("npm run build:cli", () => {
  const dist = join(REPO_ROOT, "dist", "cli");
  beforeAll(() => {
    execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs"), "cli"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
  });

  /** The chunks a chunk loads before it runs (static imports, transitively), and the packages they import. */
  function staticClosure(entry: string): { chunks: string[]; packages: Set<string> } {
    const chunks: string[] = [];
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (chunks.includes(file)) return;
      chunks.push(file);
      const text = readFileSync(file, "utf8");
      for (const [, spec] of text.matchAll(
        /^(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm,
      )) {
        if (!spec) continue;
        if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
        else if (!spec.startsWith("node:")) packages.add(spec);
      }
    };
    visit(entry);
    return { chunks, packages };
  }
  const commandChunk = (name: string) => {
    const file = readdirSync(join(dist, "chunks")).find(
      (f) => f.startsWith(`${name}-`) && f.endsWith(".mjs"),
    );
    if (!file) throw new Error(`no chunk for ${name}`);
    return join(dist, "chunks", file);
  };

  it("Given the build, Then the stamp names the checkout's sources and the built validate works", () => {
    const stamp = JSON.parse(readFileSync(join(dist, "stamp.json"), "utf8")) as {
      main: string;
      sources: Array<[string, number, number]>;
    };
    const files = stamp.sources.map(([file]) => file);
    expect(files).toContain("cli/src/main.ts");
    expect(files).toContain("dsl-compiler/src/compile.ts");
    expect(files.filter((f) => f.includes("node_modules"))).toEqual([]);
    const run = spawnSync(process.execPath, [FERRY_BIN, "validate", "examples/hello/workflow.yaml"], {
      cwd: REPO_ROOT,
      env: { ...process.env, FERRY_CLI_SOURCES: "" },
      encoding: "utf8",
    });
    expect(run.stdout).toContain('ok — workflow "hello", 2 steps on 2 sites');
    expect(run.status).toBe(0);
  });

  it("Given the chunks, Then validate and the cloud commands load no CDK; compile reaches it only by a lazy import", () => {
    const cdk = (packages: Set<string>) =>
      [...packages].filter((p) => /^(aws-cdk-lib|cdk-nag|constructs)/.test(p));
    expect(cdk(staticClosure(join(dist, "main.mjs")).packages)).toEqual([]);
    for (const command of ["validate", "status", "start", "stop", "destroy", "compile"])
      expect(cdk(staticClosure(commandChunk(command)).packages), command).toEqual([]);
    // A chunk split off for a lazy import() of a CommonJS module exports only its default:
    // every such import must ask for nothing else (the AWS SDK stays out of the chunks for this).
    const chunkFiles = readdirSync(join(dist, "chunks")).filter((f) => f.endsWith(".mjs"));
    const all = [join(dist, "main.mjs"), ...chunkFiles.map((f) => join(dist, "chunks", f))].map((f) =>
      readFileSync(f, "utf8"),
    );
    for (const cjs of chunkFiles.filter((f) =>
      /^export default require_\w+\(\);$/m.test(readFileSync(join(dist, "chunks", f), "utf8")),
    ))
      for (const text of all) {
        const name = cjs.replaceAll(".", "\\.");
        const sites = text.match(new RegExp(`import\\("\\./${name}"\\)`, "g"))?.length ?? 0;
        const defaultOnly =
          text.match(new RegExp(`const \\{ default: \\w+ \\} = await import\\("\\./${name}"\\)`, "g"))
            ?.length ?? 0;
        expect(sites, cjs).toBe(defaultOnly);
      }
    // The same check finds the CDK where it is: deploy loads it.
    expect(cdk(staticClosure(commandChunk("deploy")).packages)).toContain("aws-cdk-lib");
  });
});
