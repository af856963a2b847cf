import { createHash } from "node:crypto";

/** Step Functions' limit on state names. */
export const MAX_STATE_NAME = 80;

/**
 * Names for the states Ferry adds around steps (`extract.signal`,
 * `load.await.extract`, `fork.1`). Step names cannot contain a dot, so these
 * never collide with a step's own Task state; names past 80 characters are
 * shortened with a hash of the full name, which keeps them unique.
 */
export class StateNamer {
  private readonly used = new Set<string>();
  /** Names given since `record()`, or undefined once one of them needed a suffix. */
  private log: string[] | undefined | null = null;

  constructor(stepNames: Iterable<string>) {
    for (const s of stepNames) this.used.add(s);
  }

  aux(...parts: string[]): string {
    const full = parts.join(".");
    let name = full.length <= MAX_STATE_NAME ? full : shorten(full);
    const first = name;
    for (let n = 2; this.used.has(name); n++) name = shorten(`${full}.${n}`);
    this.used.add(name);
    if (this.log) {
      if (name === first) this.log.push(name);
      else this.log = undefined;
    }
    return name;
  }

  /** Starts listing the names given, for `claim` in another namer. */
  record(): void {
    this.log = [];
  }

  /** The names given since `record()`, or undefined if one was not its first choice. */
  recorded(): string[] | undefined {
    const log = this.log ?? undefined;
    this.log = null;
    return log;
  }

  /**
   * Takes names another namer gave as first choices, if none is taken here:
   * then `aux` would give exactly these names in this order. False (and nothing
   * taken) otherwise.
   */
  claim(names: string[]): boolean {
    for (const n of names) if (this.used.has(n)) return false;
    for (const n of names) this.used.add(n);
    return true;
  }
}

function shorten(full: string): string {
  if (full.length <= MAX_STATE_NAME) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${full.slice(0, MAX_STATE_NAME - 9)}~${hash}`;
}

/** JSONPath to a key of an object; bracket notation because step names may contain '-'. */
export function keyPath(base: string, key: string): string {
  return `${base}['${key}']`;
}
