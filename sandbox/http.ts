import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the sandbox answers the way AWS does: awsJson `__type` plus an HTTP status. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export interface AwsJsonCall {
  /** Short API name as used in scenario faults: ecs, cloudtrail, logs, sfn. */
  api: string;
  operation: string;
  body: Record<string, unknown>;
}

/** What an observer sees of each awsJson call once it is answered. */
export interface AwsJsonOutcome extends AwsJsonCall {
  status: number;
  errorCode?: string;
}
export type CallObserver = (outcome: AwsJsonOutcome) => void;

export type AwsJsonService = (operation: string, body: Record<string, unknown>) => Promise<unknown> | unknown;

/** Runs before each call; throw an AwsServiceError to fail it, or return a delay in real ms. */
export type CallInterceptor = (call: AwsJsonCall) => Promise<void> | void;

export type RawRoute = (req: IncomingMessage, body: Buffer) => Promise<RawResponse> | RawResponse;
export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One HTTP listener on 127.0.0.1 for every simulated AWS API. awsJson services are routed by
 * the X-Amz-Target prefix the real SDK sends; other routes (health URLs, Slack) by path.
 */
export class SandboxHttpServer {
  private readonly services = new Map<string, { api: string; contentType: string; handle: AwsJsonService }>();
  private readonly routes = new Map<string, RawRoute>();
  private readonly interceptors: CallInterceptor[] = [];
  private readonly observers: CallObserver[] = [];
  private readonly passThroughs = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  private server: Server | undefined;
  url = '';

  /** e.g. registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', handler). */
  registerJson(targetPrefix: string, api: string, version: '1.0' | '1.1', handle: AwsJsonService): void {
    this.services.set(targetPrefix, { api, contentType: `application/x-amz-json-${version}`, handle });
  }

  /** Exact-path route, e.g. 'POST /slack/interactions' or 'GET /acme-axon/health'. */
  route(methodAndPath: string, handler: RawRoute): void {
    this.routes.set(methodAndPath, handler);
  }

  /** Hands whole requests for a target prefix to another HTTP implementation (dynalite for DynamoDB). */
  passThrough(targetPrefix: string, listener: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.passThroughs.set(targetPrefix, listener);
  }

  intercept(interceptor: CallInterceptor): void {
    this.interceptors.push(interceptor);
  }

  observe(observer: CallObserver): void {
    this.observers.push(observer);
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => {
        send(res, 500, { 'content-type': 'text/plain' }, `sandbox error: ${(err as Error).message}`);
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const { port: bound } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${bound}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private notify(outcome: AwsJsonOutcome): void {
    for (const observe of this.observers) observe(outcome);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const passTarget = header(req, 'x-amz-target');
    const pass = passTarget ? this.passThroughs.get(passTarget.slice(0, passTarget.lastIndexOf('.'))) : undefined;
    if (pass) {
      pass(req, res);
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      send(res, 413, { 'content-type': 'text/plain' }, 'request body too large');
      return;
    }
    const target = header(req, 'x-amz-target');
    if (target) {
      await this.dispatchJson(target, body, res);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const route = this.routes.get(`${req.method} ${path}`);
    if (!route) {
      send(res, 404, { 'content-type': 'text/plain' }, `no sandbox route for ${req.method} ${path}`);
      return;
    }
    const answer = await route(req, body);
    send(res, answer.status, answer.headers ?? {}, answer.body ?? '');
  }

  private async dispatchJson(target: string, raw: Buffer, res: ServerResponse): Promise<void> {
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, dot);
    const operation = target.slice(dot + 1);
    const service = this.services.get(prefix);
    if (!service) {
      sendJson(res, 400, 'application/x-amz-json-1.1', { __type: 'UnknownOperationException', message: `sandbox does not serve ${target}` });
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      sendJson(res, 400, service.contentType, { __type: 'SerializationException', message: 'request body is not JSON' });
      return;
    }
    const call: AwsJsonCall = { api: service.api, operation, body };
    try {
      for (const intercept of this.interceptors) await intercept(call);
      const result = await service.handle(operation, body);
      this.notify({ ...call, status: 200 });
      sendJson(res, 200, service.contentType, result ?? {});
    } catch (err) {
      const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalFailure', (err as Error).message, 500);
      this.notify({ ...call, status: e.status, errorCode: e.code });
      sendJson(res, e.status, service.contentType, { __type: e.code, message: e.message }, e.code);
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, contentType: string, payload: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  send(res, status, headers, JSON.stringify(payload, dateReplacer));
}

/** awsJson carries timestamps as epoch seconds. */
function dateReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body).toString() });
  res.end(body);
}
