// Module hooks for lambda-runtime.mjs.
// - resolve: the packages the Lambda Node.js runtime provides (the AWS SDK
//   v3 and its Smithy dependencies), which Ferry's bundles leave out,
//   resolve from Ferry's own install, as on Lambda they resolve from the
//   runtime. Everything else resolves as usual, so a bundle that needs a
//   package it did not include fails here as it would on Lambda.
// - load: reports every file module loaded, with the sha256 of the very
//   bytes loaded, so `ferry functions serve` can show it ran the deployed asset.
import { createHash } from "node:crypto";

let sdkParent;
let port;

export function initialize(data) {
  sdkParent = data.sdkParent;
  port = data.port;
  // Messages on one port keep their order: "flushed" follows every load reported before it.
  port.on("message", (message) => {
    if (message === "flush") port.postMessage({ type: "flushed" });
  });
  port.unref();
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith("@aws-sdk/") || specifier.startsWith("@smithy/")) {
    try {
      return await nextResolve(specifier, context);
    } catch {
      return nextResolve(specifier, { ...context, parentURL: sdkParent });
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (url.startsWith("file:") && result.source != null) {
    const bytes = typeof result.source === "string" ? Buffer.from(result.source) : Buffer.from(result.source);
    port.postMessage({
      type: "loaded",
      url,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes: bytes.length,
    });
  }
  return result;
}
