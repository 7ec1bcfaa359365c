import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The one place SDK clients are built. A handler asks only for the clients it uses (esbuild then
 * drops the rest from its bundle) and builds them once per container. An explicit endpoint (the
 * sandbox) wins; otherwise the SDK honours AWS_ENDPOINT_URL and the normal credential chain.
 */
export interface ClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK-level attempts per call; the state machines retry on top with backoff and jitter. */
  maxAttempts?: number;
}

function clientConfig(options: ClientOptions) {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
  };
}

export const ecsClient = (options: ClientOptions = {}) => new ECSClient(clientConfig(options));
export const elbv2Client = (options: ClientOptions = {}) => new ElasticLoadBalancingV2Client(clientConfig(options));
export const cloudTrailClient = (options: ClientOptions = {}) => new CloudTrailClient(clientConfig(options));
export const logsClient = (options: ClientOptions = {}) => new CloudWatchLogsClient(clientConfig(options));
export const cloudWatchClient = (options: ClientOptions = {}) => new CloudWatchClient(clientConfig(options));
export const autoScalingClient = (options: ClientOptions = {}) => new ApplicationAutoScalingClient(clientConfig(options));
export const dynamoClient = (options: ClientOptions = {}) => new DynamoDBClient(clientConfig(options));
export const lambdaClient = (options: ClientOptions = {}) => new LambdaClient(clientConfig(options));
export const sfnClient = (options: ClientOptions = {}) => new SFNClient(clientConfig(options));
export const snsClient = (options: ClientOptions = {}) => new SNSClient(clientConfig(options));
export const secretsClient = (options: ClientOptions = {}) => new SecretsManagerClient(clientConfig(options));
/** A secret's string value (GetSecretValue); callers wrap it in a Secret and never log it. */
export const getSecretString = async (secretId: string, options: ClientOptions = {}) =>
  (await secretsClient(options).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
/** Plain JS objects in and out; undefined attributes dropped rather than rejected. */
export const documentClient = (options: ClientOptions = {}) =>
  DynamoDBDocumentClient.from(dynamoClient(options), { marshallOptions: { removeUndefinedValues: true } });

/** Every client at once, for the CLI and the sandbox (never for a Lambda bundle). */
export interface Clients {
  ecs: ECSClient;
  /** ECS without SDK retries: for changes whose retry must check whether the first try applied. */
  ecsOnce: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  cloudtrail: CloudTrailClient;
  logs: CloudWatchLogsClient;
  dynamo: DynamoDBDocumentClient;
  sfn: SFNClient;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
  /** The health check's GetFunction and test Invoke. */
  lambda: LambdaClient;
}

export function createClients(options: ClientOptions = {}): Clients {
  return {
    ecs: ecsClient(options),
    ecsOnce: ecsClient({ ...options, maxAttempts: 1 }),
    elbv2: elbv2Client(options),
    cloudtrail: cloudTrailClient(options),
    logs: logsClient(options),
    dynamo: documentClient(options),
    sfn: sfnClient(options),
    cloudwatch: cloudWatchClient(options),
    autoscaling: autoScalingClient(options),
    lambda: lambdaClient(options),
  };
}

/** Builds a value on first use and keeps it: module-level clients without paying at import. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
