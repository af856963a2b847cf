export {
  AwsSecretResolver,
  type AwsSecretResolverOptions,
  DEFAULT_SECRET_CACHE_SECONDS,
  EnvSecretResolver,
  type ResolvedSecrets,
  resolveSecretMap,
  SECRET_CACHE_SECONDS_ENV,
  SecretError,
  type SecretResolver,
  secretCacheSeconds,
} from "./resolver.ts";
