/**
 * Template → ASL: finds the state machines in a CDK-synthesized CloudFormation template and turns
 * each `DefinitionString` (a string, or an `Fn::Join` of strings and intrinsics) into a plain ASL
 * object, with every Lambda `Fn::GetAtt … Arn` replaced by a recognisable function ARN whose last
 * segment is the handler name the sandbox calls.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Loose ASL shapes: only the fields the sandbox reads or rewrites. */
export interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Parameters?: JsonValue;
  Retry?: AslRetrier[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[];
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  HeartbeatSecondsPath?: string;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
  Branches?: AslDefinition[];
  Iterator?: AslDefinition;
  ItemProcessor?: AslDefinition;
  [field: string]: unknown;
}

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'NONE' | 'FULL';
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  Comment?: string;
  TimeoutSeconds?: number;
  [field: string]: unknown;
}

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface CloudFormationTemplate {
  Resources?: Record<string, CloudFormationResource>;
  Parameters?: Record<string, { Default?: unknown; [field: string]: unknown }>;
  [field: string]: unknown;
}

export interface ExtractedMachine {
  name: string;
  logicalId: string;
  arn: string;
  definition: AslDefinition;
}

export interface ExtractOptions {
  region: string;
  accountId: string;
}

/** The tag the infra puts on every function so the sandbox knows which handler module it runs. */
export const HANDLER_TAG = 'incident-flows:handler';

export class TemplateResolutionError extends Error {
  override name = 'TemplateResolutionError';
}

export function extractStateMachines(template: CloudFormationTemplate, opts: ExtractOptions): ExtractedMachine[] {
  const resources = template.Resources ?? {};
  const machines: ExtractedMachine[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const props = resource.Properties ?? {};
    const raw = resolveIntrinsic(props.DefinitionString, template, opts);
    if (typeof raw !== 'string') throw new TemplateResolutionError(`${logicalId}: DefinitionString did not resolve to a string`);
    const definition = JSON.parse(raw) as AslDefinition;
    const name = typeof props.StateMachineName === 'string' ? props.StateMachineName : logicalId;
    machines.push({ name, logicalId, arn: stateMachineArn(opts, name), definition });
  }
  return machines;
}

export function stateMachineArn(opts: ExtractOptions, name: string): string {
  return `arn:aws:states:${opts.region}:${opts.accountId}:stateMachine:${name}`;
}

export function lambdaArn(opts: ExtractOptions, functionName: string): string {
  return `arn:aws:lambda:${opts.region}:${opts.accountId}:function:${functionName}`;
}

/** The handler a Lambda resource runs: its `incident-flows:handler` tag, else its logical id. */
export function handlerNameOf(resource: CloudFormationResource, logicalId: string): string {
  const tags = resource.Properties?.Tags;
  if (Array.isArray(tags)) {
    for (const tag of tags as { Key?: unknown; Value?: unknown }[]) {
      if (tag.Key === HANDLER_TAG && typeof tag.Value === 'string') return tag.Value;
    }
  }
  return logicalId;
}

/**
 * Evaluates the intrinsics CDK puts in a DefinitionString. Anything we cannot know locally (a
 * queue URL, a table ARN) becomes a stable placeholder naming its logical id, so a definition
 * still parses and a test can recognise where the value came from.
 */
export function resolveIntrinsic(value: unknown, template: CloudFormationTemplate, opts: ExtractOptions): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsic(v, template, opts));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const key = keys[0]!;
    const arg = obj[key];
    switch (key) {
      case 'Ref':
        return resolveRef(String(arg), template, opts);
      case 'Fn::GetAtt':
        return resolveGetAtt(arg, template, opts);
      case 'Fn::Join':
        return resolveJoin(arg, template, opts);
      case 'Fn::Sub':
        return resolveSub(arg, template, opts);
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = resolveIntrinsic(list, template, opts);
        return Array.isArray(items) ? items[Number(resolveIntrinsic(index, template, opts))] : undefined;
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return String(resolveIntrinsic(source, template, opts)).split(sep);
      }
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsic(obj[k], template, opts)]));
}

function resolveJoin(arg: unknown, template: CloudFormationTemplate, opts: ExtractOptions): string {
  if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || !Array.isArray(arg[1])) {
    throw new TemplateResolutionError(`malformed Fn::Join: ${JSON.stringify(arg)}`);
  }
  const parts = (arg[1] as unknown[]).map((part) => resolveIntrinsic(part, template, opts));
  return parts.map((p) => String(p)).join(arg[0]);
}

function resolveSub(arg: unknown, template: CloudFormationTemplate, opts: ExtractOptions): string {
  const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
  return text.replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
    if (ref in vars) return String(resolveIntrinsic(vars[ref], template, opts));
    const dot = ref.indexOf('.');
    if (dot > 0) return String(resolveGetAtt([ref.slice(0, dot), ref.slice(dot + 1)], template, opts));
    return String(resolveRef(ref, template, opts));
  });
}

const PSEUDO_PARAMETERS: Record<string, (opts: ExtractOptions) => string> = {
  'AWS::Region': (o) => o.region,
  'AWS::AccountId': (o) => o.accountId,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::StackName': () => 'sandbox',
  'AWS::StackId': (o) => `arn:aws:cloudformation:${o.region}:${o.accountId}:stack/sandbox/sandbox`,
  'AWS::NoValue': () => '',
};

function resolveRef(logicalId: string, template: CloudFormationTemplate, opts: ExtractOptions): unknown {
  const pseudo = PSEUDO_PARAMETERS[logicalId];
  if (pseudo) return pseudo(opts);
  const parameter = template.Parameters?.[logicalId];
  if (parameter) return parameter.Default ?? `sandbox-parameter:${logicalId}`;
  const resource = template.Resources?.[logicalId];
  if (!resource) return `sandbox-ref:${logicalId}`;
  const props = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return handlerNameOf(resource, logicalId);
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${opts.region}:${opts.accountId}:${stringOr(props.TopicName, logicalId)}`;
    case 'AWS::SQS::Queue':
      return `https://sqs.${opts.region}.amazonaws.com/${opts.accountId}/${stringOr(props.QueueName, logicalId)}`;
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return stringOr(props.TableName, logicalId);
    case 'AWS::ECS::Cluster':
      return stringOr(props.ClusterName, logicalId);
    case 'AWS::StepFunctions::StateMachine':
      return stateMachineArn(opts, stringOr(props.StateMachineName, logicalId));
    default:
      return `sandbox-ref:${logicalId}`;
  }
}

function resolveGetAtt(arg: unknown, template: CloudFormationTemplate, opts: ExtractOptions): unknown {
  const [logicalId, attribute] = Array.isArray(arg) ? (arg as [string, string]) : splitOnce(String(arg), '.');
  const resource = template.Resources?.[logicalId];
  if (resource?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
    return lambdaArn(opts, handlerNameOf(resource, logicalId));
  }
  if (resource?.Type === 'AWS::DynamoDB::Table' && attribute === 'Arn') {
    return `arn:aws:dynamodb:${opts.region}:${opts.accountId}:table/${stringOr(resource.Properties?.TableName, logicalId)}`;
  }
  if (resource?.Type === 'AWS::SNS::Topic' && attribute === 'TopicArn') return resolveRef(logicalId, template, opts);
  if (resource?.Type === 'AWS::StepFunctions::StateMachine' && attribute === 'Name') {
    return stringOr(resource.Properties?.StateMachineName, logicalId);
  }
  return `arn:aws:sandbox:${opts.region}:${opts.accountId}:${logicalId}/${attribute}`;
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** Calls `visit` for every state, including those nested in Parallel branches and Map processors. */
export function forEachState(definition: AslDefinition, visit: (name: string, state: AslState) => void): void {
  for (const [name, state] of Object.entries(definition.States)) {
    visit(name, state);
    for (const branch of state.Branches ?? []) forEachState(branch, visit);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) forEachState(processor, visit);
  }
}

/**
 * Minimal JSONPath reader for reference paths (`$`, `$.a.b`, `$.a[0]`, `$['a b']`), which is all
 * ASL allows in SecondsPath/TimestampPath/TimeoutSecondsPath. Returns undefined when absent.
 */
export function readPath(path: string, input: unknown, context?: unknown): unknown {
  let current: unknown = input;
  let rest = path;
  if (rest.startsWith('$$')) {
    current = context;
    rest = rest.slice(2);
  } else if (rest.startsWith('$')) {
    rest = rest.slice(1);
  } else {
    throw new TemplateResolutionError(`not a JSONPath: ${path}`);
  }
  const token = /^(?:\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m) throw new TemplateResolutionError(`unsupported JSONPath: ${path}`);
    const key = m[1] ?? m[3] ?? m[4];
    if (current === null || typeof current !== 'object') return undefined;
    current = key !== undefined ? (current as Record<string, unknown>)[key] : (current as unknown[])[Number(m[2])];
    rest = rest.slice(m[0].length);
  }
  return current;
}
