// Module resolution hooks for lambda-runtime.mjs: the packages the Lambda
// Node.js runtime provides (the AWS SDK v3 and its Smithy dependencies),
// which Ferry's bundles leave out, resolve from Ferry's own install, as on
// Lambda they resolve from the runtime. Everything else resolves as usual,
// so a bundle that needs a package it did not include fails here as it
// would on Lambda.
let sdkParent;

export function initialize(data) {
  sdkParent = data.sdkParent;
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
