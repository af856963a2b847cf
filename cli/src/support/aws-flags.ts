/** `--endpoint-url` and `--region`, shared by every command that talks to AWS. */
export const AWS_FLAGS = {
  "endpoint-url": { type: "string" },
  region: { type: "string" },
} as const;

export const AWS_FLAGS_USAGE = `  --endpoint-url URL   AWS endpoint, e.g. http://127.0.0.1:4566 for LocalStack (default: AWS_ENDPOINT_URL)
  --region REGION      (default: the workflow's first aws site, then AWS_REGION, AWS_DEFAULT_REGION, us-east-1)`;

/** An execution ARN, as `ferry start` prints it. */
export const EXECUTION_ARN = /^arn:aws[\w-]*:states:[^:]*:\d*:execution:[^:]+:[^:]+$/;
