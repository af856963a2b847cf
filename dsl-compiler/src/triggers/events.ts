/**
 * The EventBridge side of triggers: the event pattern of an `s3` trigger,
 * and the events EventBridge delivers, built locally for `ferry run --watch`
 * in the shape AWS sends them.
 */
import { randomUUID } from "node:crypto";

/** Matches one S3 key: a prefix, a suffix, or both through a wildcard. */
export function keyMatcher(prefix?: string, suffix?: string): Record<string, string> | undefined {
  if (prefix !== undefined && suffix !== undefined)
    return { wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(suffix)}` };
  if (prefix !== undefined) return { prefix };
  if (suffix !== undefined) return { suffix };
  return undefined;
}

function escapeWildcard(text: string): string {
  return text.replace(/[\\*]/g, (c) => `\\${c}`);
}

/** The event pattern of an `s3` trigger: Object Created in the bucket, the key matched by prefix and suffix. */
export function s3EventPattern(bucket: string, prefix?: string, suffix?: string): Record<string, unknown> {
  const key = keyMatcher(prefix, suffix);
  return {
    source: ["aws.s3"],
    "detail-type": ["Object Created"],
    detail: { bucket: { name: [bucket] }, ...(key ? { object: { key: [key] } } : {}) },
  };
}

/** Whether a key passes an `s3` trigger's prefix and suffix (both, when both are given, without overlapping). */
export function keyMatches(key: string, prefix?: string, suffix?: string): boolean {
  if (prefix !== undefined && !key.startsWith(prefix)) return false;
  if (suffix !== undefined && !key.endsWith(suffix)) return false;
  return key.length >= (prefix?.length ?? 0) + (suffix?.length ?? 0);
}

export interface LocalEventContext {
  account?: string;
  region?: string;
  time?: Date;
}

/** What EventBridge sends for a scheduled rule. */
export function scheduledEvent(rule: string, ctx: LocalEventContext = {}): Record<string, unknown> {
  const { account = "000000000000", region = "local" } = ctx;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account,
    time: isoSeconds(ctx.time ?? new Date()),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${rule}`],
    detail: {},
  };
}

/** What S3 sends through EventBridge for a new object. */
export function objectCreatedEvent(
  bucket: string,
  object: { key: string; size: number; etag?: string },
  ctx: LocalEventContext = {},
): Record<string, unknown> {
  const { account = "000000000000", region = "local" } = ctx;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Object Created",
    source: "aws.s3",
    account,
    time: isoSeconds(ctx.time ?? new Date()),
    region,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: "0",
      bucket: { name: bucket },
      object: { key: object.key, size: object.size, ...(object.etag ? { etag: object.etag } : {}) },
      reason: "PutObject",
    },
  };
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
