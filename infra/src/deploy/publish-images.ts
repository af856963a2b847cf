import { execFileSync } from "node:child_process";
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from "@aws-sdk/client-ecr";
import { type AwsContext, clientConfig } from "./aws-context.ts";
import { DeployError } from "./deploy-error.ts";
import { type AssetPlaceholders, resolvePlaceholders } from "./publish-assets.ts";
import type { ImageAsset } from "./synthesize-stack.ts";

export interface PublishedImage {
  uri: string;
  /** False when the repository already held that tag (tags are content hashes). */
  pushed: boolean;
}

/**
 * Builds the stack's Docker image assets (the Fargate agent image) with the
 * local `docker` and pushes them to Ferry's ECR repository, creating it
 * (scan on push, immutable tags) on first use. A tag already present is
 * neither rebuilt nor pushed.
 */
export async function publishImages(
  images: ImageAsset[],
  context: AwsContext,
  placeholders: AssetPlaceholders,
): Promise<PublishedImage[]> {
  if (images.length === 0) return [];
  const ecr = new ECRClient(clientConfig(context, placeholders.region));
  const published: PublishedImage[] = [];
  try {
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    const auth = authorizationData?.[0];
    if (!auth?.authorizationToken || !auth.proxyEndpoint) {
      throw new DeployError(
        "ASSET_UPLOAD_FAILED",
        "ECR returned no authorization token for pushing the agent image",
      );
    }
    const [user, password] = Buffer.from(auth.authorizationToken, "base64").toString("utf8").split(":");
    const registry = auth.proxyEndpoint.replace(/^https?:\/\//, "");
    let loggedIn = false;
    for (const image of images) {
      const repositoryName = resolvePlaceholders(image.repositoryName, placeholders);
      const uri = `${registry}/${repositoryName}:${image.imageTag}`;
      await ensureRepository(ecr, repositoryName);
      const present = await ecr
        .send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: image.imageTag }] }))
        .then(
          () => true,
          (error: Error) => {
            if (error.name === "ImageNotFoundException") return false;
            throw error;
          },
        );
      if (present) {
        published.push({ uri, pushed: false });
        continue;
      }
      if (!loggedIn) {
        docker(["login", "--username", user!, "--password-stdin", registry], password);
        loggedIn = true;
      }
      docker([
        "build",
        "--quiet",
        ...(image.platform ? ["--platform", image.platform] : []),
        "--tag",
        uri,
        image.directory,
      ]);
      docker(["push", "--quiet", uri]);
      published.push({ uri, pushed: true });
    }
  } catch (error) {
    if (error instanceof DeployError) throw error;
    throw new DeployError(
      "ASSET_UPLOAD_FAILED",
      `could not publish the agent image: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    ecr.destroy();
  }
  return published;
}

async function ensureRepository(ecr: ECRClient, repositoryName: string): Promise<void> {
  const exists = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] })).then(
    () => true,
    (error: Error) => {
      if (error.name === "RepositoryNotFoundException") return false;
      throw error;
    },
  );
  if (exists) return;
  await ecr.send(
    new CreateRepositoryCommand({
      repositoryName,
      imageScanningConfiguration: { scanOnPush: true },
      // Tags are content hashes: a tag never names two images.
      imageTagMutability: "IMMUTABLE",
    }),
  );
}

function docker(args: string[], input?: string): void {
  try {
    execFileSync("docker", args, { input, stdio: ["pipe", "ignore", "pipe"], encoding: "utf8" });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new DeployError(
      "ASSET_UPLOAD_FAILED",
      `docker ${args[0]} failed: ${stderr.trim().slice(-1000) || (error as Error).message}; is a Docker engine running (docker info)?`,
      { cause: error },
    );
  }
}
