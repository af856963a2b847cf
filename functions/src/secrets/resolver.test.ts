import { describe, expect, it } from "vitest";
import { AwsSecretResolver, EnvSecretResolver, resolveSecretMap } from "./resolver.ts";

function fakeClients() {
  const calls: string[] = [];
  let version = 1;
  const ssm = {
    send: async (command: { input: { Name: string; WithDecryption: boolean } }) => {
      calls.push(`ssm ${command.input.Name} ${command.input.WithDecryption}`);
      return { Parameter: { Value: `param-v${version}` } };
    },
    destroy: () => undefined,
  };
  const secretsManager = {
    send: async (command: { input: { SecretId: string } }) => {
      calls.push(`sm ${command.input.SecretId}`);
      return { SecretString: JSON.stringify({ token: `tok-v${version}`, n: 7 }) };
    },
    destroy: () => undefined,
  };
  return { calls, ssm, secretsManager, bump: () => version++ };
}

describe("AwsSecretResolver", () => {
  it("reads SSM with decryption and picks a secret's JSON key, caching values for cacheSeconds", async () => {
    const fake = fakeClients();
    let now = 0;
    const resolver = new AwsSecretResolver({
      ssm: fake.ssm as never,
      secretsManager: fake.secretsManager as never,
      cacheSeconds: 10,
      now: () => now,
    });
    expect(await resolver.resolve("ssm:/ferry/key")).toBe("param-v1");
    expect(await resolver.resolve("secretsmanager:svc#token")).toBe("tok-v1");
    expect(await resolver.resolve("secretsmanager:svc#n")).toBe("7");
    fake.bump();
    now = 9_000;
    expect(await resolver.resolve("ssm:/ferry/key")).toBe("param-v1");
    now = 10_001;
    expect(await resolver.resolve("ssm:/ferry/key")).toBe("param-v2");
    expect(fake.calls).toEqual(["ssm /ferry/key true", "sm svc", "sm svc", "ssm /ferry/key true"]);
    await expect(resolver.resolve("secretsmanager:svc#missing")).rejects.toThrow(/no JSON key "missing"/);
  });
});

describe("resolveSecretMap", () => {
  it("keeps plain values, resolves references and lists the values to redact", async () => {
    const resolver = new EnvSecretResolver({ FERRY_SECRET_SSM__K: "v" });
    expect(await resolveSecretMap({ A: "plain", B: { secret: "ssm:/k" } }, resolver, 'step "s"')).toEqual({
      values: { A: "plain", B: "v" },
      secrets: ["v"],
    });
  });

  it("fails naming the step, the variable and the reference, and the override to set", async () => {
    await expect(
      resolveSecretMap({ B: { secret: "ssm:/k" } }, new EnvSecretResolver({}), 'step "s"'),
    ).rejects.toThrow(/step "s": B = \{ secret: ssm:\/k \}: .*set FERRY_SECRET_SSM__K/);
  });
});
