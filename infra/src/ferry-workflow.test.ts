import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { CHAIN_SPEC, compileYaml, MIXED_SPEC, synthStack } from "./testing.ts";

describe("FerryWorkflow on a mixed workflow", () => {
  const compiled = compileYaml(MIXED_SPEC);
  let template: Template;
  beforeAll(() => {
    template = synthStack(compiled).template;
  });

  it("creates a queue and a dead-letter queue per IR queue, all with SSE and TLS-only policies", () => {
    expect(compiled.ir.queues.map((q) => q.id)).toEqual([
      "site-lab",
      "site-plant",
      "fn-c",
      "fargate-cloud-busybox-1-765f87",
    ]);
    template.resourceCountIs("AWS::SQS::Queue", 8);
    template.allResourcesProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true });
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
      VisibilityTimeout: 120,
    });
    template.resourceCountIs("AWS::SQS::QueuePolicy", 8);
    template.allResourcesProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ],
      },
    });
  });

  it("gives the Lambda queue a visibility timeout six times the function timeout", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Timeout: 120,
      Handler: "index.handler",
      Runtime: "nodejs24.x",
    });
    template.hasResourceProperties("AWS::SQS::Queue", { VisibilityTimeout: 720 });
  });

  it("feeds the function from its queue with partial batch failures reported", () => {
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("QueuesfncQueue"), "Arn"] },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          FERRY_WORKFLOW: "mixed",
          FERRY_STEP: "c",
          FERRY_HEARTBEAT_SECONDS: "60",
        }),
      },
      TracingConfig: { Mode: "Active" },
    });
  });

  it("creates a STANDARD state machine with a substitution for every slot, logging ALL and tracing", () => {
    const slots = [
      compiled.substitutions.jobBucket,
      compiled.substitutions.joinTable!,
      ...Object.values(compiled.substitutions.queues),
      ...Object.values(compiled.substitutions.httpConnections),
    ];
    const machines = template.findResources("AWS::StepFunctions::StateMachine");
    expect(Object.keys(machines)).toHaveLength(1);
    const properties = Object.values(machines)[0]!.Properties;
    expect(properties.StateMachineType).toBe("STANDARD");
    expect(Object.keys(properties.DefinitionSubstitutions).sort()).toEqual([...slots].sort());
    expect(properties.LoggingConfiguration).toMatchObject({ Level: "ALL", IncludeExecutionData: false });
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(properties.StateMachineName).toMatch(/^mixed-root-[0-9a-f]{8}$/);
  });

  it("lets the state machine send only to its queues, use the join table, and invoke only its HTTP endpoint", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "sqs:SendMessage",
            Resource: Match.arrayWith([
              { "Fn::GetAtt": [Match.stringLikeRegexp("QueuessitelabQueue"), "Arn"] },
            ]),
          }),
          Match.objectLike({
            Action: ["dynamodb:UpdateItem", "dynamodb:GetItem"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("JoinTable"), "Arn"] },
          }),
          Match.objectLike({ Action: "states:SendTaskSuccess" }),
          Match.objectLike({
            Action: "states:InvokeHTTPEndpoint",
            Condition: {
              StringEquals: {
                "states:HTTPMethod": "POST",
                "states:HTTPEndpoint": "https://hooks.example.com/ferry",
              },
            },
          }),
          Match.objectLike({ Action: "events:RetrieveConnectionCredentials" }),
          Match.objectLike({ Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"] }),
        ]),
      },
    });
    template.resourceCountIs("AWS::Events::Connection", 1);
    template.hasResourceProperties("AWS::Events::Connection", {
      AuthorizationType: "API_KEY",
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "X-Ferry-Workflow", ApiKeyValue: "mixed" } },
    });
  });

  it("creates the join table on demand, keyed pk, with TTL on expiresAt", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
  });

  it("scopes each edge site's policy to its own queue", () => {
    const policies = template.findResources("AWS::IAM::ManagedPolicy", {
      Properties: { Description: Match.stringLikeRegexp("edge site lab") },
    });
    expect(Object.keys(policies)).toHaveLength(1);
    const statements = Object.values(policies)[0]!.Properties.PolicyDocument.Statement as Array<{
      Sid: string;
      Resource: unknown;
    }>;
    const queue = statements.find((s) => s.Sid === "OwnQueue")!;
    expect(queue.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^WorkflowQueuessitelabQueue/), "Arn"],
    });
    const text = JSON.stringify(statements);
    expect(text).not.toMatch(/QueuessiteplantQueue|QueuesfncQueue|QueuesfargatecloudbusyboxQueue/);
    expect(statements.map((s) => s.Sid)).toEqual([
      "OwnQueue",
      "OwnDeadLetterQueue",
      "AnswerTaskTokens",
      "WriteOwnSiteKeys",
      "ReadUpstreamSiteKeys",
      "ListUpstreamSiteKeys",
      "ReadManifest",
      "ReadManifestSigningKey",
      "ReadDeployment",
    ]);
    // The public key only: signing stays with the deployer.
    const signing = statements.find((s) => s.Sid === "ReadManifestSigningKey")! as {
      Action?: unknown;
      Resource: unknown;
    };
    expect(signing.Action).toBe("kms:GetPublicKey");
    expect(signing.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^WorkflowManifestSigningKey/), "Arn"],
    });
    const keys = (sid: string) =>
      JSON.stringify(statements.find((s) => s.Sid === sid)!.Resource).match(/\/mixed\/[^"]*/g);
    expect(keys("WriteOwnSiteKeys")).toEqual(["/mixed/lab/*", "/mixed/.ferry-cache/lab/*"]);
    // lab's steps depend on nothing: it reads its own keys and the shared cache, no other site's.
    expect(keys("ReadUpstreamSiteKeys")).toEqual(["/mixed/lab/*", "/mixed/.ferry-cache/*"]);
    expect(statements.find((s) => s.Sid === "OwnDeadLetterQueue")!.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^WorkflowQueuessitelabDeadLetters/), "Arn"],
    });
    expect(statements.find((s) => s.Sid === "AnswerTaskTokens")!.Resource).toBe("*");
  });

  it("lets a worker read the keys of the sites its steps depend on, and write its own only", () => {
    const statements = Object.values(
      template.findResources("AWS::IAM::ManagedPolicy", {
        Properties: { Description: Match.stringLikeRegexp("Fargate workers on site cloud") },
      }),
    )[0]!.Properties.PolicyDocument.Statement as Array<{ Sid: string; Resource: unknown }>;
    const keys = (sid: string) =>
      JSON.stringify(statements.find((s) => s.Sid === sid)!.Resource).match(/\/mixed\/[^"]*/g);
    // d (cloud) depends on b (lab) and p (plant).
    expect(keys("ReadUpstreamSiteKeys")).toEqual([
      "/mixed/cloud/*",
      "/mixed/lab/*",
      "/mixed/plant/*",
      "/mixed/.ferry-cache/*",
    ]);
    expect(keys("WriteOwnSiteKeys")).toEqual(["/mixed/cloud/*", "/mixed/.ferry-cache/cloud/*"]);
  });

  it("gives each worker site a manifest of its own steps, and its policy reads that one only", () => {
    const assets = compiled.ir.queues.filter((q) => q.executor !== "lambda").map((q) => q.site);
    expect(assets).toEqual(["lab", "plant", "cloud"]);
    const readManifest = (site: string) => {
      const policy = Object.values(
        template.findResources("AWS::IAM::ManagedPolicy", {
          Properties: { Description: Match.stringLikeRegexp(`(edge site|on site) ${site}:? `) },
        }),
      )[0]!;
      const statements = policy.Properties.PolicyDocument.Statement as Array<{
        Sid: string;
        Resource: unknown;
      }>;
      return JSON.stringify(statements.find((s) => s.Sid === "ReadManifest")!.Resource);
    };
    const keys = ["lab", "plant", "cloud"].map((site) => /[0-9a-f]{64}\.json/.exec(readManifest(site))?.[0]);
    expect(new Set(keys).size).toBe(3);
    // And its signed manifest at the fixed key ferry deploy writes, no other site's.
    expect(readManifest("lab")).toMatch(/ferry\/signed-manifests\/[^"]+\/lab\.json/);
    expect(readManifest("lab")).not.toMatch(/signed-manifests\/[^"]+\/(plant|cloud)\.json/);
    template.hasResourceProperties("AWS::KMS::Key", { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    template.hasOutput("WorkflowManifestSigningKeyArn", {});
    for (const site of ["lab", "plant", "cloud"]) {
      template.hasOutput(`WorkflowSiteManifestS3Uri${site[0]!.toUpperCase()}${site.slice(1)}`, {
        Value: Match.stringLikeRegexp(`^s3://cdk-.*\\.json$`),
      });
    }
  });

  it("runs the cloud container step on a Fargate pool that scales on backlog, to zero", () => {
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      Cpu: "2048",
      Memory: "4096",
      RequiresCompatibilities: ["FARGATE"],
    });
    template.hasResourceProperties("AWS::ECS::Service", { DesiredCount: 0, LaunchType: "FARGATE" });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 0,
      MaxCapacity: 10,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: "visible + inFlight" })]),
    });
    template.hasResourceProperties("AWS::ECS::Cluster", {
      ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
    });
  });

  it("alarms on failed and timed-out executions and on every dead-letter queue", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ExecutionsFailed",
      Namespace: "AWS/States",
      Threshold: 1,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ExecutionsTimedOut",
      Namespace: "AWS/States",
      Threshold: 1,
    });
    const dlqAlarms = template.findResources("AWS::CloudWatch::Alarm", {
      Properties: {
        MetricName: "ApproximateNumberOfMessagesVisible",
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
      },
    });
    expect(Object.keys(dlqAlarms)).toHaveLength(compiled.ir.queues.length);
  });

  it("publishes the manifest as an asset and the deployment document as an SSM parameter", () => {
    template.hasResourceProperties("AWS::SSM::Parameter", {
      Name: "/ferry/ferry-mixed/mixed",
      Type: "String",
      Tier: "Standard",
    });
    template.hasOutput("WorkflowManifestS3Uri", { Value: Match.stringLikeRegexp(`^s3://cdk-.*\\.json$`) });
  });

  it("outputs the state machine ARN, the bucket, and a queue URL and worker policy per site", () => {
    template.hasOutput("WorkflowStateMachineArn", { Value: { Ref: Match.stringLikeRegexp("StateMachine") } });
    template.hasOutput("WorkflowJobBucketName", {});
    for (const key of [
      "QueueUrlSiteLab",
      "QueueUrlSitePlant",
      "QueueUrlFnC",
      "QueueUrlFargateCloudBusybox1765f87",
      "WorkerPolicyArnSiteLab",
      "WorkerPolicyArnSitePlant",
    ]) {
      template.hasOutput(`Workflow${key}`, {});
    }
  });

  it("keeps the job-files bucket private, encrypted, TLS-only and expiring", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30, Status: "Enabled" })]),
      },
    });
    template.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Retain" });
  });
});

describe("FerryWorkflow variants", () => {
  it("creates no join table, Lambda or Fargate pool when the workflow needs none", () => {
    const { template } = synthStack(compileYaml(CHAIN_SPEC));
    template.resourceCountIs("AWS::DynamoDB::Table", 0);
    template.resourceCountIs("AWS::Lambda::Function", 0);
    template.resourceCountIs("AWS::ECS::Cluster", 0);
    template.resourceCountIs("AWS::SQS::Queue", 2);
  });

  it("leaves Lambda and Fargate out for LocalStack but keeps their queues", () => {
    const { template } = synthStack(compileYaml(MIXED_SPEC), { target: "localstack" });
    template.resourceCountIs("AWS::Lambda::Function", 0);
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 0);
    template.resourceCountIs("AWS::ECS::Service", 0);
    template.resourceCountIs("AWS::EC2::VPC", 0);
    template.resourceCountIs("AWS::SQS::Queue", 8);
    template.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Delete" });
    template.hasOutput("WorkflowQueueUrlFnC", {});
  });

  it("deploys a definition larger than inlineDefinitionMaxBytes from S3", () => {
    const { template } = synthStack(compileYaml(CHAIN_SPEC), { inlineDefinitionMaxBytes: 100 });
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      DefinitionS3Location: { Bucket: Match.anyValue(), Key: Match.stringLikeRegexp("\\.json$") },
      DefinitionSubstitutions: Match.objectLike({ JobBucket: Match.anyValue() }),
    });
  });

  it("uses a step's own HTTP authorization when given", async () => {
    const events = await import("aws-cdk-lib/aws-events");
    const { SecretValue } = await import("aws-cdk-lib");
    const { template } = synthStack(compileYaml(MIXED_SPEC), {
      httpAuthorizations: {
        e: events.Authorization.basic("ferry", SecretValue.secretsManager("hooks-password")),
      },
    });
    template.hasResourceProperties("AWS::Events::Connection", { AuthorizationType: "BASIC" });
  });
});
