/**
 * The AWS query protocol (awsQuery), as CloudWatch (2010-08-01) and Elastic Load Balancing v2
 * (2015-12-01) speak it: a form-urlencoded POST carrying `Action`, `Version` and the input
 * members, answered with XML.
 *
 * Request rules (Smithy "awsQuery protocol", botocore's QuerySerializer): structure members are
 * dotted (`MetricStat.Metric.Namespace`); lists are `Name.member.N` (1-based), flattened lists
 * `Name.N`; maps `Name.entry.N.key` / `Name.entry.N.value`; an empty list is sent as `Name=`.
 * Every scalar arrives as a string: the service coerces numbers, booleans and timestamps.
 *
 * Response rules: `<{Action}Response xmlns="…"><{Action}Result>…</{Action}Result>
 * <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></{Action}Response>`, lists as
 * `<member>` elements, maps as `<entry><key/><value/></entry>`, timestamps in ISO 8601; an
 * operation without an output shape has no `<{Action}Result>` (botocore models it without a
 * `resultWrapper`). Errors: `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/>
 * </Error><RequestId/></ErrorResponse>`.
 */

/** A parsed awsQuery request: Action and Version apart, every other parameter as a plain object. */
export interface QueryRequest {
  action: string | undefined;
  version: string | undefined;
  params: Record<string, unknown>;
}

/** A node of the dotted-name tree before it is known to be a structure, list or map. */
interface Node {
  value?: string;
  children: Map<string, Node>;
}

const INDEX = /^[1-9]\d*$/;

export function parseQueryBody(body: string): QueryRequest {
  const root: Node = { children: new Map() };
  let action: string | undefined;
  let version: string | undefined;
  for (const [key, value] of new URLSearchParams(body)) {
    if (key === 'Action') action = value;
    else if (key === 'Version') version = value;
    else insert(root, key.split('.'), value);
  }
  const params = toValue(root);
  return { action, version, params: isRecord(params) ? params : {} };
}

function insert(root: Node, path: string[], value: string): void {
  let node = root;
  for (const segment of path) {
    let child = node.children.get(segment);
    if (!child) {
      child = { children: new Map() };
      node.children.set(segment, child);
    }
    node = child;
  }
  node.value = value;
}

/** Structure, list (`member.N` or flattened `N`), map (`entry.N.key/value`) or scalar string. */
function toValue(node: Node): unknown {
  const keys = [...node.children.keys()];
  if (keys.length === 0) return node.value ?? '';
  if (keys.length === 1 && keys[0] === 'member') return listOf(node.children.get('member')!);
  if (keys.length === 1 && keys[0] === 'entry') return mapOf(node.children.get('entry')!);
  if (keys.every((k) => INDEX.test(k))) return listOf(node);
  return Object.fromEntries(keys.map((k) => [k, toValue(node.children.get(k)!)]));
}

function indexed(node: Node): Node[] {
  return [...node.children.entries()]
    .filter(([k]) => INDEX.test(k))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, child]) => child);
}

function listOf(node: Node): unknown[] {
  return indexed(node).map(toValue);
}

function mapOf(node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of indexed(node)) {
    const key = entry.children.get('key');
    const value = entry.children.get('value');
    if (key !== undefined) out[String(toValue(key))] = value ? toValue(value) : '';
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `http://monitoring.amazonaws.com/doc/2010-08-01/`: the xmlNamespace botocore's models give both services. */
export function xmlNamespaceOf(signingName: string, version: string): string {
  return `http://${signingName}.amazonaws.com/doc/${version}/`;
}

/**
 * A successful answer. `result` undefined means the operation has no output shape (PutMetricAlarm,
 * SetAlarmState, DeleteAlarms): no `<{Action}Result>` element at all.
 */
export function queryResponse(action: string, xmlns: string, result: unknown, requestId: string): string {
  const inner = result === undefined ? '' : element(`${action}Result`, result);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${escapeXml(xmlns)}">${inner}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`
  );
}

export interface QueryErrorShape {
  /** Sender for the caller's faults (4xx), Receiver for the service's (5xx). */
  type: 'Sender' | 'Receiver';
  code: string;
  message: string;
  requestId: string;
  xmlns?: string;
}

export function queryError(e: QueryErrorShape): string {
  const ns = e.xmlns ? ` xmlns="${escapeXml(e.xmlns)}"` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse${ns}><Error><Type>${e.type}</Type><Code>${escapeXml(e.code)}</Code>` +
    `<Message>${escapeXml(e.message)}</Message></Error><RequestId>${escapeXml(e.requestId)}</RequestId></ErrorResponse>`
  );
}

/** One XML element for a value: lists as `<member>`, Maps as `<entry>`, Dates in ISO 8601. */
export function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' && !Number.isFinite(value)) return '';
  return `<${name}>${content(value)}</${name}>`;
}

function content(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => element('member', v)).join('');
  if (value instanceof Map) {
    return [...value.entries()].map(([k, v]) => `<entry>${element('key', k)}${element('value', v)}</entry>`).join('');
  }
  if (isRecord(value)) return Object.entries(value).map(([k, v]) => element(k, v)).join('');
  return escapeXml(String(value));
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]!);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };

/** The service name in a SigV4 credential scope: `Credential=AKID/20261128/us-east-1/monitoring/aws4_request`. */
export function signingNameOf(authorization: string | undefined): string | undefined {
  return authorization?.match(/Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/([^/,\s]+)\/aws4_request/)?.[1];
}
