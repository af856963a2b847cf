import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

export interface AuditEntry {
  at: string;
  /** The session that acted (a prefix of its id: enough to tell sessions apart, useless to steal). */
  who: string;
  action: string;
  target: string;
  result: "ok" | "error";
  detail: string;
}

/** Every action the UI runs, one JSON line each: actions run with the server's own rights and credentials. */
export class AuditLog {
  constructor(readonly path: string) {}

  async write(entry: AuditEntry): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify(entry)}\n`);
  }
}
