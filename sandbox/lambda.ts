import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SimClock } from './clock.ts';
import type { RawResponse, SandboxHttpServer } from './http.ts';
import type { FunctionSpec } from './scenario.ts';

/**
 * AWS Lambda for the sandbox, restJson1 as SDK v3 speaks it (Lambda API Reference): GetFunction
 * (`GET /2015-03-31/functions/{name}`) and Invoke (`POST /2015-03-31/functions/{name}/invocations`)
 * for the scenario's functions — the runbook's governance Lambda by default. A name may be given as
 * a name, a partial ARN or an ARN. Errors as Lambda sends them: the code in `x-amzn-ErrorType`,
 * `{"Type": "User", "message": …}` in the body, ResourceNotFoundException 404,
 * ResourceConflictException 409, InvalidRequestContentException 400.
 *
 * The function itself answers the test event with {"statusCode": 200}; under
 * `fault: "unhandled-error"` every invoke answers 200 with `X-Amz-Function-Error: Unhandled` and
 * the runtime's {"errorType", "errorMessage", "trace"} payload, as a handler that throws does.
 */
const API = '/2015-03-31/functions/';

export interface LambdaOptions {
  clock: SimClock;
  region: string;
  accountId: string;
  functions: FunctionSpec[];
}

export class LambdaFunctions {
  /** Invocations answered, oldest first: who was invoked, when, and whether it failed. */
  readonly invocations: { name: string; at: string; functionError?: string }[] = [];

  constructor(private readonly o: LambdaOptions) {}

  mount(server: SandboxHttpServer): void {
    server.routePrefix('GET', API, (req) => this.answer(req, () => this.getFunction(req)));
    server.routePrefix('POST', API, (req, body) => this.answer(req, () => this.invoke(req, body)));
  }

  private answer(req: IncomingMessage, run: () => RawResponse): RawResponse {
    try {
      return run();
    } catch (err) {
      if (!(err instanceof LambdaError)) throw err;
      return {
        status: err.status,
        headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': requestIdOf(req) },
        body: JSON.stringify({ Type: 'User', message: err.message }),
      };
    }
  }

  private find(rawName: string): FunctionSpec {
    const name = nameOf(decodeURIComponent(rawName));
    const fn = this.o.functions.find((f) => f.name === name);
    if (!fn) throw new LambdaError('ResourceNotFoundException', 404, `Function not found: ${this.arn(name)}`);
    return fn;
  }

  private getFunction(req: IncomingMessage): RawResponse {
    const rest = pathOf(req).slice(API.length);
    if (rest.includes('/')) throw new LambdaError('UnknownOperationException', 404, `Unknown operation GET ${pathOf(req)}`);
    const fn = this.find(rest);
    const configuration = {
      FunctionName: fn.name,
      FunctionArn: this.arn(fn.name),
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::${this.o.accountId}:role/${fn.name}-role`,
      Handler: 'index.handler',
      CodeSize: 48_213,
      Description: 'governance decisions for the services',
      Timeout: 30,
      MemorySize: 256,
      // Lambda's own format: 2026-11-27T03:00:00.000+0000.
      LastModified: new Date(this.o.clock.nowMs() - 3 * 24 * 3600_000).toISOString().replace('Z', '+0000'),
      CodeSha256: createHash('sha256').update(fn.name).digest('base64'),
      Version: '$LATEST',
      State: fn.state,
      ...(fn.state === 'Failed' ? { StateReason: 'The function could not be created: the execution role cannot be assumed by Lambda.', StateReasonCode: 'InvalidRole' } : {}),
      ...(fn.state === 'Pending' ? { StateReason: 'The function is being created.', StateReasonCode: 'Creating' } : {}),
      LastUpdateStatus: fn.state === 'Failed' ? 'Failed' : 'Successful',
      PackageType: 'Zip',
      Architectures: ['arm64'],
    };
    const body = { Configuration: configuration, Code: { RepositoryType: 'S3', Location: `https://awslambda-${this.o.region}-tasks.s3.${this.o.region}.amazonaws.com/snapshots/${this.o.accountId}/${fn.name}` }, Tags: {} };
    return { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-RequestId': requestIdOf(req) }, body: JSON.stringify(body) };
  }

  private invoke(req: IncomingMessage, body: Buffer): RawResponse {
    const match = /^([^/]+)\/invocations$/.exec(pathOf(req).slice(API.length));
    if (!match) throw new LambdaError('UnknownOperationException', 404, `Unknown operation POST ${pathOf(req)}`);
    const fn = this.find(match[1]!);
    if (body.length > 0) {
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        throw new LambdaError('InvalidRequestContentException', 400, 'Could not parse request body into json: Could not parse payload into json');
      }
    }
    // A function not Active cannot run (Lambda Developer Guide, "Lambda function states").
    if (fn.state !== 'Active') throw new LambdaError('ResourceConflictException', 409, `The operation cannot be performed at this time. The function is currently in the following state: ${fn.state}`);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const at = this.o.clock.now().toISOString();
    const headers = { 'content-type': 'application/json', 'x-amzn-RequestId': requestIdOf(req), 'X-Amz-Executed-Version': '$LATEST' };
    if (type === 'DryRun') return { status: 204, headers };
    if (fn.fault === 'unhandled-error') {
      this.invocations.push({ name: fn.name, at, functionError: 'Unhandled' });
      if (type === 'Event') return { status: 202, headers };
      const payload = { errorType: 'Error', errorMessage: 'Policy store unreachable: connect ETIMEDOUT 10.0.2.41:443', trace: ['Error: Policy store unreachable: connect ETIMEDOUT 10.0.2.41:443', '    at loadPolicies (/var/task/index.js:41:11)'] };
      return { status: 200, headers: { ...headers, 'X-Amz-Function-Error': 'Unhandled' }, body: JSON.stringify(payload) };
    }
    this.invocations.push({ name: fn.name, at });
    if (type === 'Event') return { status: 202, headers };
    return { status: 200, headers, body: JSON.stringify({ statusCode: 200, body: JSON.stringify({ status: 'ok', policies: 12 }) }) };
  }

  private arn(name: string): string {
    return `arn:aws:lambda:${this.o.region}:${this.o.accountId}:function:${name}`;
  }
}

class LambdaError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** "name", "123456789012:function:name", "arn:aws:lambda:…:function:name[:qualifier]" → name. */
function nameOf(raw: string): string {
  const parts = raw.split(':');
  const at = parts.indexOf('function');
  return at >= 0 ? (parts[at + 1] ?? '') : raw;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function requestIdOf(req: IncomingMessage): string {
  return String(req.headers['amz-sdk-invocation-id'] ?? randomUUID());
}
