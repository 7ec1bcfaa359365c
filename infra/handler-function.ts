import { Duration, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The tag by which the sandbox maps each Task's Lambda back to its handler. */
export const HANDLER_TAG = 'incident-flows:handler';

export interface HandlerFunctionProps {
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  /**
   * Concurrency set aside for this function, so account-wide throttling during an incident (other
   * workloads scaling up) cannot starve it. For the fail-safes: restoring a count, recording an end.
   */
  reservedConcurrency?: number;
}

/**
 * Every handler of incident-flows as a Lambda function, built one way: `handlers/<name>.ts`
 * bundled by the local esbuild (no Docker), ESM with module-first resolution (~40% smaller and
 * faster to load than CommonJS, DESIGN.md), minified, on Node.js 24 and arm64, with a log group
 * kept a month and X-Ray active tracing.
 *
 * Its role is its own, not Lambda's default: the AWS-managed AWSLambdaBasicExecutionRole would let
 * it create log groups and write to any log group in the account (cdk-nag AwsSolutions-IAM4). Here
 * it may write its own log group's streams and nothing else; the log group exists before it runs
 * (CloudFormation creates it), so logs:CreateLogGroup is not needed.
 */
export function handlerFunction(scope: Construct, name: string, props: HandlerFunctionProps = {}): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `Logs-${name}`, { retention: logs.RetentionDays.ONE_MONTH });
  const role = new iam.Role(scope, `HandlerRole-${name}`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `incident-flows ${name}: its own log group, and what the stack grants it`,
  });
  // logs:CreateLogStream and logs:PutLogEvents on this log group (its ARN already covers its streams).
  logGroup.grantWrite(role);
  const fn = new NodejsFunction(scope, `Handler-${name}`, {
    entry: `${ROOT}handlers/${name}.ts`,
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout ?? Duration.seconds(30),
    ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
    description: `incident-flows ${name}`,
    projectRoot: ROOT,
    depsLockFilePath: `${ROOT}package-lock.json`,
    logGroup,
    role,
    // Where an incident's minutes went: every invocation traced (xray:PutTraceSegments/PutTelemetryRecords on '*').
    tracing: lambda.Tracing.ACTIVE,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    bundling: {
      format: OutputFormat.ESM,
      mainFields: ['module', 'main'],
      minify: true,
      // Error class names are the workflows' API (Retry/Catch match Lambda's errorType): minifying
      // must not rename them, or TransientAwsError arrives as "cd" and is never retried.
      keepNames: true,
      sourceMap: true,
      target: 'node24',
      banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      // Bundle our own SDK version rather than the runtime's, so what we test is what runs.
      externalModules: [],
      forceDockerBundling: false,
    },
  });
  Tags.of(fn).add(HANDLER_TAG, name);
  HANDLER_NAMES.set(fn, name);
  return fn;
}

const HANDLER_NAMES = new WeakMap<NodejsFunction, string>();

/** Every function built by handlerFunction under the scope, by handler name (alarms and dashboard: infra/observability.ts). */
export function handlerFunctionsIn(scope: Construct): Record<string, NodejsFunction> {
  const found: Record<string, NodejsFunction> = {};
  for (const c of scope.node.findAll()) {
    const name = c instanceof NodejsFunction ? HANDLER_NAMES.get(c) : undefined;
    if (!name) continue;
    if (found[name]) throw new Error(`two functions for handler "${name}": ${found[name].node.path} and ${c.node.path}`);
    found[name] = c as NodejsFunction;
  }
  return found;
}
