import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseQueryBody, queryError, queryResponse, signingNameOf, xmlNamespaceOf } from './query-protocol.ts';

/**
 * An error the sandbox answers the way AWS does: awsJson `__type` plus an HTTP status. `queryCode`
 * is the error's awsQuery code where it differs or must be announced: query answers carry it as
 * `<Code>`, and awsJson answers of services with the awsQueryCompatible trait (CloudWatch) carry
 * it in the `x-amzn-query-error: Code;Sender` header, which botocore and the SDK read first.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly queryCode?: string,
  ) {
    super(message);
    this.name = code;
  }

  /** Sender for the caller's faults, Receiver for the service's (awsQuery `<Type>`). */
  get fault(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** The sandbox could not bind its port (taken by another process, or not allowed). */
export class SandboxListenError extends Error {
  override name = 'SandboxListenError';
  readonly code: string | undefined;
  constructor(
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    const why = cause.code === 'EADDRINUSE' ? 'the port is already in use' : cause.code === 'EACCES' ? 'permission denied' : cause.message;
    super(`the sandbox cannot listen on 127.0.0.1:${port}: ${why}${cause.code ? ` (${cause.code})` : ''}`, { cause });
    this.code = cause.code;
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

/**
 * Runs before each call: throw an AwsServiceError to fail it, or return 'lose-response' to have the
 * call applied and its answer replaced by a 5xx (a response lost on the way back: the caller cannot
 * tell whether its change happened).
 */
export type CallInterceptor = (call: AwsJsonCall) => Promise<void | 'lose-response'> | void | 'lose-response';

function lostResponse(call: AwsJsonCall): AwsServiceError {
  return new AwsServiceError(call.api === 'ecs' ? 'ServerException' : 'InternalFailure', `We encountered an internal error. Please try again. (${call.operation})`, 500);
}

/**
 * Runs before each AWS call is handled (awsJson, awsQuery, DynamoDB, restJson prefix routes — not the
 * health pages or Slack): the sandbox charges the call's latency on its clock here, so the answer, and
 * whatever the call changes, happen that much later (sandbox/latency.ts).
 */
export type CallPacer = (call: { api: string; operation: string }) => Promise<void> | void;

export type RawRoute = (req: IncomingMessage, body: Buffer) => Promise<RawResponse> | RawResponse;
export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An awsQuery service: signing name (SigV4 credential scope) and API version it answers. */
interface QueryService {
  signingName: string;
  version: string;
  api: string;
  xmlns: string;
  handle: AwsJsonService;
}

const MAX_BODY_BYTES = 1024 * 1024;
const FORM = 'application/x-www-form-urlencoded';
/** Slack's Web API fake (sandbox/slack.ts) answers under this path, in Slack's `{ok, error}` JSON. */
const SLACK_API = '/slack/api/';

/**
 * One HTTP listener on 127.0.0.1 for every simulated AWS API. awsJson services are routed by
 * the X-Amz-Target prefix the real SDK sends; other routes (health URLs, Slack) by path.
 */
export class SandboxHttpServer {
  private readonly services = new Map<string, { api: string; contentType: string; handle: AwsJsonService }>();
  private readonly routes = new Map<string, RawRoute>();
  /** Routes by method and path prefix (restJson1 APIs with names in their paths, e.g. Lambda's /2015-03-31/functions/{name}). */
  private readonly prefixRoutes: { method: string; prefix: string; handler: RawRoute; api: string }[] = [];
  private readonly interceptors: CallInterceptor[] = [];
  private pacer: CallPacer | undefined;
  private readonly observers: CallObserver[] = [];
  private readonly passThroughs = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  private readonly queryServices: QueryService[] = [];
  private server: Server | undefined;
  url = '';

  /** e.g. registerJson('AmazonEC2ContainerServiceV20141113', 'ecs', '1.1', handler). */
  registerJson(targetPrefix: string, api: string, version: '1.0' | '1.1', handle: AwsJsonService): void {
    this.services.set(targetPrefix, { api, contentType: `application/x-amz-json-${version}`, handle });
  }

  /**
   * An awsQuery service, e.g. registerQuery('monitoring', '2010-08-01', 'cloudwatch', handler): form
   * POSTs are routed by the SigV4 credential scope's service name, else by their `Version`. The
   * handler gets the Action and the parsed parameters and returns the `<{Action}Result>` content
   * (undefined for an operation without output); interceptors and observers see the call as `api`.
   */
  registerQuery(signingName: string, version: string, api: string, handle: AwsJsonService): void {
    this.queryServices.push({ signingName, version, api, xmlns: xmlNamespaceOf(signingName, version), handle });
  }

  /** Exact-path route, e.g. 'POST /slack/interactions' or 'GET /acme-axon/health'. */
  route(methodAndPath: string, handler: RawRoute): void {
    this.routes.set(methodAndPath, handler);
  }

  /**
   * Every `method` request whose path starts with `prefix` (an exact route wins): a restJson AWS API
   * (e.g. Lambda's /2015-03-31/functions/{name}), paced as `api` ('rest' when not named).
   */
  routePrefix(method: string, prefix: string, handler: RawRoute, api = 'rest'): void {
    this.prefixRoutes.push({ method, prefix, handler, api });
  }

  /** Sets what every AWS call waits for before it is handled (one pacer; a later call replaces it). */
  pace(pacer: CallPacer): void {
    this.pacer = pacer;
  }

  /** Hands whole requests for a target prefix to another HTTP implementation (dynalite for DynamoDB). */
  passThrough(targetPrefix: string, listener: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.passThroughs.set(targetPrefix, listener);
  }

  intercept(interceptor: CallInterceptor): void {
    this.interceptors.push(interceptor);
  }

  /** The pacer's wait, if it has one for this call (no pacer, or a free call: not even a microtask). */
  private paced(call: { api: string; operation: string }): Promise<void> | void {
    return this.pacer?.(call);
  }

  /** True when an interceptor asked for the call to be applied and its answer lost. */
  private async runInterceptors(call: AwsJsonCall): Promise<boolean> {
    let lose = false;
    for (const intercept of this.interceptors) if ((await intercept(call)) === 'lose-response') lose = true;
    return lose;
  }

  observe(observer: CallObserver): void {
    this.observers.push(observer);
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => {
        send(res, 500, { 'content-type': 'text/plain' }, `sandbox error: ${(err as Error).message}`);
      });
    });
    server.keepAliveTimeout = 1000;
    // A port already taken (EADDRINUSE) or refused (EACCES) is an 'error' event: without a listener
    // it would be thrown from the event loop and kill the process instead of failing the start.
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(new SandboxListenError(port, err));
      server.once('error', failed);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', failed);
        resolve();
      });
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
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
    // Every AWS answer carries a request id (dynalite, below, sets its own over this one).
    const requestId = randomUUID();
    res.setHeader('x-amzn-RequestId', requestId);
    const passTarget = header(req, 'x-amz-target');
    const pass = passTarget ? this.passThroughs.get(passTarget.slice(0, passTarget.lastIndexOf('.'))) : undefined;
    if (pass) {
      // DynamoDB (dynalite) is disturbed like the other APIs: throttling, 5xx, outages from the scenario.
      const operation = passTarget!.slice(passTarget!.lastIndexOf('.') + 1);
      const call: AwsJsonCall = { api: 'dynamodb', operation, body: {} };
      try {
        const wait = this.paced(call);
        if (wait) await wait;
        if (await this.runInterceptors(call)) throw new AwsServiceError('InternalServerError', 'Internal server error', 500);
      } catch (err) {
        const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalServerError', (err as Error).message, 500);
        req.resume();
        this.notify({ ...call, status: e.status, errorCode: e.code });
        sendJson(res, e.status, 'application/x-amz-json-1.0', { __type: `com.amazonaws.dynamodb.v20120810#${e.code === 'ThrottlingException' ? 'ThrottlingException' : e.code}`, message: e.message }, e.code);
        return;
      }
      pass(req, res);
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      this.answerTooLarge(req, res, requestId);
      return;
    }
    const target = header(req, 'x-amz-target');
    if (target) {
      await this.dispatchJson(target, body, res);
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const exact = this.routes.get(`${req.method} ${path}`);
    const prefixed = exact ? undefined : this.prefixRoutes.find((r) => r.method === req.method && path.startsWith(r.prefix));
    const route = exact ?? prefixed?.handler;
    if (!route) {
      const query = this.queryRequest(req, body);
      if (query) {
        await this.dispatchQuery(query.service, query.parsed, res, requestId);
        return;
      }
      if (this.unroutableQuery(req, body)) {
        const { action, version } = parseQueryBody(body.toString('utf8'));
        const message = `Could not find operation ${action} for version ${version ?? '(none)'}`;
        send(res, 400, { 'content-type': 'text/xml' }, queryError({ type: 'Sender', code: 'InvalidAction', message, requestId }));
        return;
      }
      this.answerNotFound(req, res, path);
      return;
    }
    const wait = prefixed ? this.paced({ api: prefixed.api, operation: `${req.method} ${prefixed.prefix}` }) : undefined;
    if (wait) await wait;
    const answer = await route(req, body);
    send(res, answer.status, answer.headers ?? {}, answer.body ?? '');
  }

  /** A form POST for one of the query services: by SigV4 scope, else by an Action plus a known Version. */
  private queryRequest(req: IncomingMessage, body: Buffer): { service: QueryService; parsed: ReturnType<typeof parseQueryBody> } | undefined {
    if (req.method !== 'POST' || !isForm(req)) return undefined;
    const bySigner = this.queryServiceSignedFor(req);
    const parsed = parseQueryBody(body.toString('utf8'));
    const service = bySigner ?? (parsed.action ? this.queryServices.find((s) => s.version === parsed.version) : undefined);
    return service ? { service, parsed } : undefined;
  }

  /** A query call (form POST with an Action) none of the registered query services answers. */
  private unroutableQuery(req: IncomingMessage, body: Buffer): boolean {
    return this.queryServices.length > 0 && req.method === 'POST' && isForm(req) && parseQueryBody(body.toString('utf8')).action !== undefined;
  }

  private queryServiceSignedFor(req: IncomingMessage): QueryService | undefined {
    const signingName = signingNameOf(header(req, 'authorization'));
    return signingName ? this.queryServices.find((s) => s.signingName === signingName) : undefined;
  }

  private async dispatchQuery(service: QueryService, parsed: ReturnType<typeof parseQueryBody>, res: ServerResponse, requestId: string): Promise<void> {
    const operation = parsed.action ?? '';
    const call: AwsJsonCall = { api: service.api, operation, body: parsed.params };
    try {
      checkQueryEnvelope(service, parsed);
      const wait = this.paced(call);
      if (wait) await wait;
      const lose = await this.runInterceptors(call);
      const result = await service.handle(operation, parsed.params);
      if (lose) throw lostResponse(call);
      this.notify({ ...call, status: 200 });
      send(res, 200, { 'content-type': 'text/xml' }, queryResponse(operation, service.xmlns, result, requestId));
    } catch (err) {
      const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalFailure', (err as Error).message, 500);
      const code = queryCodeOf(e);
      this.notify({ ...call, status: e.status, errorCode: code });
      send(res, e.status, { 'content-type': 'text/xml' }, queryError({ type: e.fault, code, message: e.message, requestId, xmlns: service.xmlns }));
    }
  }

  /**
   * Over the body limit: an error the caller's SDK can parse, in the request's protocol (awsJson
   * `__type`, awsQuery XML), with 413 Request Entity Too Large; plain text for the other routes.
   */
  private answerTooLarge(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const message = `Request body exceeds the ${MAX_BODY_BYTES}-byte limit`;
    const contentType = header(req, 'content-type') ?? '';
    if (header(req, 'x-amz-target') || contentType.startsWith('application/x-amz-json-')) {
      const json = contentType.startsWith('application/x-amz-json-1.0') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
      sendJson(res, 413, json, { __type: 'SerializationException', message }, 'SerializationException');
      return;
    }
    // A form POST is a query call when signed for a query service, or bound for no raw route (Slack's are form posts too).
    const query = isForm(req) ? this.queryServiceSignedFor(req) : undefined;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (query || (isForm(req) && !this.routes.has(`${req.method} ${path}`))) {
      send(res, 413, { 'content-type': 'text/xml' }, queryError({ type: 'Sender', code: 'RequestEntityTooLarge', message, requestId, ...(query ? { xmlns: query.xmlns } : {}) }));
      return;
    }
    if (path.startsWith(SLACK_API)) {
      send(res, 413, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ ok: false, error: 'request_too_large' }));
      return;
    }
    send(res, 413, { 'content-type': 'text/plain' }, 'request body too large');
  }

  /**
   * No route: an awsJson request without an X-Amz-Target names no operation (AWS answers
   * UnknownOperationException); a Slack Web API method the fake lacks answers Slack's
   * `{ok: false, error: "unknown_method"}`; anything else plain text.
   */
  private answerNotFound(req: IncomingMessage, res: ServerResponse, path: string): void {
    const contentType = header(req, 'content-type') ?? '';
    const message = `no sandbox route for ${req.method} ${path}`;
    if (contentType.startsWith('application/x-amz-json-')) {
      const json = contentType.startsWith('application/x-amz-json-1.0') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
      sendJson(res, 404, json, { __type: 'UnknownOperationException', message }, 'UnknownOperationException');
      return;
    }
    if (path.startsWith(SLACK_API)) {
      send(res, 404, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ ok: false, error: 'unknown_method', req_method: path.slice(SLACK_API.length) }));
      return;
    }
    send(res, 404, { 'content-type': 'text/plain' }, message);
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
    let parsed: unknown;
    try {
      parsed = raw.length ? (JSON.parse(raw.toString('utf8')) as unknown) : {};
    } catch {
      sendJson(res, 400, service.contentType, { __type: 'SerializationException', message: 'request body is not JSON' }, 'SerializationException');
      return;
    }
    // Every awsJson input is a structure: AWS refuses a body that is null, an array or a scalar
    // before any operation runs, as it does a body that does not parse.
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      const what = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
      sendJson(res, 400, service.contentType, { __type: 'SerializationException', message: `the request body must be a JSON object, not ${what}` }, 'SerializationException');
      return;
    }
    const body = parsed as Record<string, unknown>;
    const call: AwsJsonCall = { api: service.api, operation, body };
    try {
      const wait = this.paced(call);
      if (wait) await wait;
      const lose = await this.runInterceptors(call);
      const result = await service.handle(operation, body);
      if (lose) throw lostResponse(call);
      this.notify({ ...call, status: 200 });
      sendJson(res, 200, service.contentType, result ?? {});
    } catch (err) {
      const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalFailure', (err as Error).message, 500);
      this.notify({ ...call, status: e.status, errorCode: e.code });
      sendJson(res, e.status, service.contentType, { __type: e.code, message: e.message }, e.code, queryErrorHeader(e));
    }
  }
}

function isForm(req: IncomingMessage): boolean {
  return (header(req, 'content-type') ?? '').toLowerCase().startsWith(FORM);
}

/** Action and Version as AWS checks them before any operation runs. */
function checkQueryEnvelope(service: QueryService, parsed: ReturnType<typeof parseQueryBody>): void {
  if (!parsed.action) throw new AwsServiceError('MissingAction', 'The request must contain the parameter Action.');
  if (!parsed.version) throw new AwsServiceError('MissingParameter', 'The request must contain the parameter Version.');
  if (parsed.version !== service.version) throw new AwsServiceError('InvalidAction', `Could not find operation ${parsed.action} for version ${parsed.version}`);
}

/** awsQuery services name throttling `Throttling` where awsJson ones say `ThrottlingException`. */
function queryCodeOf(e: AwsServiceError): string {
  if (e.queryCode) return e.queryCode;
  return e.code === 'ThrottlingException' ? 'Throttling' : e.code;
}

/** `x-amzn-query-error: Code;Sender` (Smithy awsQueryCompatible trait) when the error names its query code. */
function queryErrorHeader(e: AwsServiceError): Record<string, string> {
  return e.queryCode ? { 'x-amzn-query-error': `${e.queryCode};${e.fault}` } : {};
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body, or undefined past the limit; the rest is drained, not kept, so the answer still reaches the caller. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, contentType: string, payload: unknown, errorType?: string, extraHeaders: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'content-type': contentType, ...extraHeaders };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  send(res, status, headers, JSON.stringify(payload, dateReplacer));
}

/** awsJson carries timestamps as epoch seconds, and maps (a Map in a handler's result) as objects. */
function dateReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Map) return Object.fromEntries(raw);
  return raw instanceof Date ? raw.getTime() / 1000 : value;
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body).toString() });
  res.end(body);
}
