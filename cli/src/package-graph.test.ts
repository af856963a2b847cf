import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import madge from "madge";
import { describe, expect, it } from "vitest";

// The one-way package arrows: a package may import only packages of a lower rank
// (cli → infra, edge-agent, simulator → functions → dsl-compiler), lazily or not.
const RANK: Record<string, number> = {
  "dsl-compiler": 0,
  functions: 1,
  "edge-agent": 2,
  infra: 2,
  simulator: 2,
  cli: 3,
};
const REPO_ROOT = join(import.meta.dirname, "..", "..");

interface Graph {
  /** Module → the modules it imports (statically, dynamically, or as types), paths relative to the root. */
  modules: Record<string, string[]>;
  circular: string[][];
  /** Imports madge could not resolve to a file. */
  unresolved: string[];
  packageOf(module: string): string | undefined;
}

function workspaces(root: string): string[] {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] })
    .workspaces;
}

/** `@ferry/x/sub` → the file its `exports` entry names, so madge follows imports across packages. */
function exportPaths(root: string, dirs: string[]): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
      name: string;
      exports: Record<string, string>;
    };
    for (const [sub, target] of Object.entries(pkg.exports))
      paths[pkg.name + sub.slice(1)] = [join(dir, target.replace(/^\.\//, ""))];
  }
  return paths;
}

async function moduleGraph(
  root: string,
  options: { entries?: string[]; lazy?: boolean; types?: boolean } = {},
): Promise<Graph> {
  const dirs = workspaces(root);
  const result = await madge(options.entries ?? dirs, {
    baseDir: root,
    fileExtensions: ["ts", "mts", "mjs", "js"],
    excludeRegExp: [/node_modules/, /cdk\.out/, /\.ferry\//],
    tsConfig: {
      compilerOptions: {
        baseUrl: root,
        paths: exportPaths(root, dirs),
        module: "esnext",
        moduleResolution: "bundler",
        allowImportingTsExtensions: true,
      },
    },
    detectiveOptions: {
      ts: { skipTypeImports: options.types === false, skipAsyncImports: options.lazy === false },
      es6: { skipTypeImports: options.types === false, skipAsyncImports: options.lazy === false },
    },
  });
  return {
    modules: result.obj(),
    circular: result.circular(),
    unresolved: result.warnings().skipped,
    packageOf: (module) => dirs.find((dir) => module.startsWith(`${dir}/`)),
  };
}

/** Package-level edges, one per importing module, for the messages. */
function crossPackageImports(graph: Graph): { from: string; to: string; module: string; imports: string }[] {
  const edges = [];
  for (const [module, deps] of Object.entries(graph.modules)) {
    const from = graph.packageOf(module);
    for (const dep of deps) {
      const to = graph.packageOf(dep);
      if (from && to && from !== to) edges.push({ from, to, module, imports: dep });
    }
  }
  return edges;
}

/** Imports that break the arrows, and packages the arrow table does not rank. */
function arrowViolations(graph: Graph): string[] {
  const problems = new Set<string>();
  for (const { from, to, module, imports } of crossPackageImports(graph)) {
    const [rankFrom, rankTo] = [RANK[from], RANK[to]];
    if (rankFrom === undefined || rankTo === undefined) {
      problems.add(
        `package "${rankFrom === undefined ? from : to}" has no place in the arrows; add it to RANK`,
      );
    } else if (rankTo >= rankFrom) {
      problems.add(`${module} imports ${imports}: ${from} may not import ${to}`);
    }
  }
  return [...problems].sort();
}

function packageCycles(graph: Graph): string[] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of crossPackageImports(graph))
    edges.set(from, (edges.get(from) ?? new Set()).add(to));
  const cycles: string[] = [];
  const visit = (start: string, at: string, path: string[]) => {
    for (const next of edges.get(at) ?? []) {
      if (next === start) cycles.push([...path, start].join(" → "));
      else if (!path.includes(next) && next > start) visit(start, next, [...path, next]);
    }
  };
  for (const start of edges.keys()) visit(start, start, [start]);
  return cycles;
}

describe("package import graph", () => {
  it("Given the repository, Then no module and no package imports itself in a cycle, lazily or not", async () => {
    const graph = await moduleGraph(REPO_ROOT);
    expect(graph.circular).toEqual([]);
    expect(packageCycles(graph)).toEqual([]);
  });

  it("Given the repository, Then every import between packages points down the arrows", async () => {
    const graph = await moduleGraph(REPO_ROOT);
    // Every @ferry import resolved to a file, so the check below saw them all.
    expect(graph.unresolved.filter((name) => name.startsWith("@ferry/"))).toEqual([]);
    const seen = new Set(crossPackageImports(graph).map(({ from, to }) => `${from} → ${to}`));
    for (const arrow of ["cli → infra", "cli → edge-agent", "cli → simulator", "functions → dsl-compiler"])
      expect(seen).toContain(arrow);
    expect(arrowViolations(graph)).toEqual([]);
  });

  it("Given `ferry --help` and `ferry validate`, Then they load no package above the compiler and not the interpreter", async () => {
    const graph = await moduleGraph(REPO_ROOT, {
      // bin/ferry.js imports main.ts itself lazily, once tsx is registered.
      entries: ["cli/src/main.ts", "cli/src/commands/validate.ts"],
      lazy: false,
    });
    const loaded = Object.keys(graph.modules);
    expect(loaded).toContain("cli/src/main.ts");
    expect(loaded).toContain("dsl-compiler/src/index.ts");
    expect(loaded.filter((m) => !/^(cli|dsl-compiler)\//.test(m))).toEqual([]);
    expect(loaded.filter((m) => m.startsWith("dsl-compiler/src/interpreter/"))).toEqual([]);
  });

  it("Given the commands that talk to a deployed workflow, Then they load no module that imports the CDK (only compile --out, deploy and functions serve do, lazily)", async () => {
    const commands = ["destroy", "redrive", "start", "status", "stop", "runs", "ui"];
    const graph = await moduleGraph(REPO_ROOT, {
      entries: ["cli/src/main.ts", ...commands.map((c) => `cli/src/commands/${c}.ts`)],
      lazy: false,
      types: false,
    });
    const loaded = Object.keys(graph.modules);
    expect(loaded).toContain("infra/src/cloud.ts");
    const cdkImport = /^import\s+(?!type\b)[^;]*?from\s+"(aws-cdk-lib|cdk-nag|constructs)(\/[^"]*)?"/m;
    expect(loaded.filter((m) => cdkImport.test(readFileSync(join(REPO_ROOT, m), "utf8")))).toEqual([]);
    // The check can fail: the synthesis entry does import the CDK.
    expect(cdkImport.test(readFileSync(join(REPO_ROOT, "infra/src/synth.ts"), "utf8"))).toBe(true);
  });

  it("Given the edge agent and the Lambda adapter, Then they load neither the ASL interpreter nor the compiler's main entry", async () => {
    const agent = Object.keys(
      (await moduleGraph(REPO_ROOT, { entries: ["edge-agent/src/index.ts"], types: false })).modules,
    );
    expect(agent).toContain("edge-agent/src/agent.ts");
    expect(agent.filter((m) => m.startsWith("dsl-compiler/src/interpreter/"))).toEqual([]);
    expect(agent.filter((m) => m.startsWith("edge-agent/src/local-run/"))).toEqual([]);
    const lambda = Object.keys(
      // What the bundle loads: type-only imports vanish at build time.
      (await moduleGraph(REPO_ROOT, { entries: ["functions/src/lambda/index.ts"], types: false })).modules,
    );
    expect(lambda).toContain("dsl-compiler/src/contract/index.ts");
    expect(
      lambda.filter((m) => m.startsWith("dsl-compiler/") && !m.startsWith("dsl-compiler/src/contract/")),
    ).toEqual([]);
  });

  it("Given a compiler that lazily imports the CLI, Then the test reports the broken arrow and the cycle", async () => {
    const root = mkdtempSync(join(tmpdir(), "ferry-graph-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write("package.json", JSON.stringify({ workspaces: ["dsl-compiler", "cli"] }));
    write(
      "dsl-compiler/package.json",
      JSON.stringify({ name: "@ferry/dsl-compiler", exports: { ".": "./src/index.ts" } }),
    );
    write("cli/package.json", JSON.stringify({ name: "@ferry/cli", exports: { ".": "./src/index.ts" } }));
    write(
      "dsl-compiler/src/index.ts",
      'export const help = async () => (await import("@ferry/cli")).main;\n',
    );
    write("cli/src/index.ts", 'import { help } from "@ferry/dsl-compiler";\nexport const main = help;\n');
    const graph = await moduleGraph(root);
    expect(arrowViolations(graph)).toEqual([
      "dsl-compiler/src/index.ts imports cli/src/index.ts: dsl-compiler may not import cli",
    ]);
    expect(packageCycles(graph)).toEqual(["cli → dsl-compiler → cli"]);
    expect(graph.circular).toEqual([["dsl-compiler/src/index.ts", "cli/src/index.ts"]]);
  });
});
