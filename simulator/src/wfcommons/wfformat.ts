import { parseSpecText, schemaIssuesToDiagnostics } from "@ferry/dsl-compiler";
import { z } from "zod";
import { locateDiagnostics, type SimDiagnostic, simError } from "../diagnostics.ts";

/**
 * The part of a WfCommons instance (WfFormat 1.5 and later: `specification`
 * + `execution`) that Ferry reads. Other fields are allowed and ignored.
 * @see https://github.com/wfcommons/WfFormat
 */
const FileSchema = z.looseObject({ id: z.string().min(1), sizeInBytes: z.number().min(0) });

const SpecTaskSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  parents: z.array(z.string()).default([]),
  inputFiles: z.array(z.string()).default([]),
  outputFiles: z.array(z.string()).default([]),
});

const ExecTaskSchema = z.looseObject({
  id: z.string().min(1),
  runtimeInSeconds: z.number().min(0).optional(),
  coreCount: z.number().positive().optional(),
  /** Percent of one core, e.g. 95.5 or 380. */
  avgCPU: z.number().min(0).optional(),
  memoryInBytes: z.number().min(0).optional(),
});

export const WfInstanceSchema = z.looseObject({
  name: z.string().optional(),
  description: z.string().optional(),
  schemaVersion: z.string(),
  workflow: z.looseObject({
    specification: z.looseObject({
      tasks: z.array(SpecTaskSchema),
      files: z.array(FileSchema).default([]),
    }),
    execution: z
      .looseObject({
        makespanInSeconds: z.number().optional(),
        tasks: z.array(ExecTaskSchema).default([]),
      })
      .optional(),
  }),
});

export type WfInstance = z.output<typeof WfInstanceSchema>;

/** Parses a WfCommons instance. Never throws on user input; diagnostics carry line and col. */
export function parseWfInstance(text: string): { instance?: WfInstance; diagnostics: SimDiagnostic[] } {
  let value: unknown;
  try {
    // Instances run to megabytes; plain JSON.parse first, the positional parser only to explain a problem.
    value = JSON.parse(text);
  } catch {
    // Not JSON: the positional parser says where and why.
    return withPositions(text, []);
  }
  const legacy = (value as { workflow?: { tasks?: unknown } } | null)?.workflow?.tasks !== undefined;
  if (legacy) {
    return withPositions(text, [
      simError(
        "instance",
        "UNSUPPORTED_FORMAT",
        ["workflow", "tasks"],
        "this is a WfFormat 1.4 or older instance (workflow.tasks)",
        "use an instance in WfFormat 1.5 or later (workflow.specification and workflow.execution)",
      ),
    ]);
  }
  const result = WfInstanceSchema.safeParse(value, { reportInput: false });
  if (!result.success) {
    const issues = schemaIssuesToDiagnostics(result.error.issues, WfInstanceSchema, value).map(
      (d): SimDiagnostic => ({ ...d, source: "instance" }),
    );
    return withPositions(text, issues);
  }
  return { instance: result.data, diagnostics: [] };
}

function withPositions(text: string, diagnostics: SimDiagnostic[]): { diagnostics: SimDiagnostic[] } {
  const parsed = parseSpecText(text);
  if (!parsed.spec) return { diagnostics: parsed.diagnostics.map((d) => ({ ...d, source: "instance" })) };
  if (diagnostics.length === 0) {
    diagnostics = [simError("instance", "INVALID_VALUE", [], "not a JSON document")];
  }
  return { diagnostics: locateDiagnostics(diagnostics, "instance", parsed.spec.locate) };
}
