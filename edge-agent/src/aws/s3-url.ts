import { AgentError } from "../errors.ts";

/** `s3://bucket/key` → parts; throws CONFIG_INVALID otherwise. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new AgentError("CONFIG_INVALID", `"${url}" is not an s3://bucket/key URL`);
  return { bucket: match[1]!, key: match[2]! };
}
