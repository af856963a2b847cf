import type { CliCommand } from "./command.ts";

/** A row of `ferry --help`; `load` imports the command's module only when it runs. */
export interface CommandEntry {
  name: string;
  /** One line for `ferry --help`; declared here and nowhere else. */
  summary: string;
  load(): Promise<CliCommand>;
}

/** Every `ferry` command, in `--help` order. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "validate",
    summary: "check workflow specs and print precise diagnostics",
    load: async () => (await import("./commands/validate.ts")).validateCommand,
  },
  {
    name: "compile",
    summary: "compile a spec to IR, ASL, manifest and a CDK cloud assembly",
    load: async () => (await import("./commands/compile.ts")).compileCommand,
  },
  {
    name: "graph",
    summary: "draw the workflow's DAG as Mermaid or Graphviz dot",
    load: async () => (await import("./commands/graph.ts")).graphCommand,
  },
  {
    name: "schema",
    summary: "print the JSON Schema of workflow specs (for editors)",
    load: async () => (await import("./commands/schema.ts")).schemaCommand,
  },
  {
    name: "run",
    summary: "run a workflow locally on the embedded runtime (no AWS needed)",
    load: async () => (await import("./commands/run.ts")).runCommand,
  },
  {
    name: "runs",
    summary: "list past local runs",
    load: async () => (await import("./commands/runs.ts")).runsCommand,
  },
  {
    name: "logs",
    summary: "print the logs of a local run or of a cloud execution",
    load: async () => (await import("./commands/runs.ts")).logsCommand,
  },
  {
    name: "cache",
    summary: "list, show and remove entries of the local step cache",
    load: async () => (await import("./commands/cache.ts")).cacheCommand,
  },
  {
    name: "provenance",
    summary: "lineage of a local run (table, PROV-JSON, dot) or of one job file",
    load: async () => (await import("./commands/provenance.ts")).provenanceCommand,
  },
  {
    name: "ui",
    summary: "serve a web dashboard of local runs and cloud executions (login URL printed)",
    load: async () => (await import("./commands/ui.ts")).uiCommand,
  },
  {
    name: "agent",
    summary: "run the edge agent: long-poll queues and run steps",
    load: async () => (await import("./commands/agent.ts")).agentCommand,
  },
  {
    name: "engine-proxy",
    summary: "serve a Docker API socket that lets the agent run only hardened containers",
    load: async () => (await import("./commands/engine-proxy.ts")).engineProxyCommand,
  },
  {
    name: "deploy",
    summary: "deploy a workflow's stack through CloudFormation (AWS or LocalStack)",
    load: async () => (await import("./commands/deploy.ts")).deployCommand,
  },
  {
    name: "destroy",
    summary: "delete a deployed workflow's stack",
    load: async () => (await import("./commands/destroy.ts")).destroyCommand,
  },
  {
    name: "start",
    summary: "start an execution of a deployed workflow (--wait to follow it)",
    load: async () => (await import("./commands/start.ts")).startCommand,
  },
  {
    name: "stop",
    summary: "stop a running execution (it ends ABORTED)",
    load: async () => (await import("./commands/stop.ts")).stopCommand,
  },
  {
    name: "redrive",
    summary: "restart a failed execution from its failed steps (--wait to follow it)",
    load: async () => (await import("./commands/redrive.ts")).redriveCommand,
  },
  {
    name: "status",
    summary: "per-step status of a deployed workflow's execution",
    load: async () => (await import("./commands/status.ts")).statusCommand,
  },
  {
    name: "functions",
    summary: "serve a deployed workflow's function steps locally (functions serve)",
    load: async () => (await import("./commands/functions.ts")).functionsCommand,
  },
  {
    name: "simulate",
    summary: "simulate a workflow on an edge/cloud topology",
    load: async () => (await import("./commands/simulate.ts")).simulateCommand,
  },
  {
    name: "import",
    summary: "import a workflow from another format (wfcommons)",
    load: async () => (await import("./commands/import.ts")).importCommand,
  },
];
