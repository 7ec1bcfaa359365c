import { DescribeExecutionCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand, type StateMachineListItem } from '@aws-sdk/client-sfn';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { documentClient, sfnClient, type ClientOptions } from '#commons/clients';
import { IncidentStore } from '#commons/incidents';
import { consoleLink } from '#commons/report';
import { incidentInputSchema } from '#commons/schemas';
import { parseInput } from '#commons/validation';

/**
 * `incident-flows start <workflow> --service NAME [--cluster NAME] [--dry-run]`: a manual start,
 * validated here with the same schema the workflow's first state uses, then StartExecution.
 * Works against AWS (normal credential chain) or a running sandbox (`--endpoint URL`).
 */

/** Short names people type → the workflow's state machine suffix. */
export const WORKFLOWS: Record<string, string> = { p0: 'p0-system-down', 'p0-system-down': 'p0-system-down' };

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** Errors that mean the command line or its input was wrong: exit 2. */
export function isUsageError(err: unknown): boolean {
  const e = err as (Error & { code?: unknown }) | undefined;
  if (!e || typeof e !== 'object') return false;
  return (
    e instanceof CliUsageError ||
    ['CliUsageError', 'InvalidInputError', 'ScenarioError'].includes(e.name) ||
    (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'))
  );
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * One line for any failure, for a person at 3 a.m.: the error's name (or its system code), what it
 * said, and for an endpoint that does not answer, which one. Never a stack trace (set
 * INCIDENT_FLOWS_DEBUG=1 to get one).
 */
export function describeError(err: unknown, endpoint?: string): string {
  if (!(err instanceof Error)) return `unexpected failure: ${oneLine(String(err))}`;
  const e = err as Error & { code?: unknown; errors?: unknown; $metadata?: { httpStatusCode?: number } };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // Node reports a refused connection to a name with several addresses as an AggregateError with no message.
  const inner = Array.isArray(e.errors) ? (e.errors as unknown[]).filter((x): x is Error => x instanceof Error) : [];
  let message = oneLine(e.message || inner.map((x) => x.message).join('; ') || code || 'no message');
  let name = e.name && e.name !== 'Error' && e.name !== 'AggregateError' ? e.name : (code ?? e.name ?? 'Error');
  const status = e.$metadata?.httpStatusCode;
  // The SDK could not read the answer: something that is not AWS answered (a proxy, a captive portal, a wrong port).
  if (name === 'SyntaxError' && e.$metadata) {
    name = 'NotAnAwsAnswer';
    message = `${endpoint ?? 'the endpoint'} answered something that is not an AWS response (${message.replace(/\s*Deserialization error:.*$/, '')})`;
  }
  const loopback = endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(endpoint);
  const where = code && NETWORK_CODES.has(code) ? ` — nothing answers at ${endpoint ?? 'the AWS endpoint'}${loopback ? ' (is `incident-flows sandbox` running there?)' : ''}` : '';
  return `${name}${status ? ` (HTTP ${status})` : ''}: ${message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message}${where}`;
}

/**
 * Text fit for one terminal line: whitespace runs collapsed, control characters (a pasted escape
 * sequence could recolour or rewrite the terminal) shown as \u escapes, at most 400 characters.
 */
export function oneLine(text: string): string {
  const line = text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1 … */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** Our names: the stack's prefix and table names (DynamoDB: 3-255 of letters, digits, _ - .). */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$/;
const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;

/** The connection flags, checked before any AWS call: a typo is a usage error, not an SDK stack trace. */
export function checkConnectionFlags(flags: ConnectionFlags & { table?: string }): void {
  if (flags.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new CliUsageError(`--endpoint "${flags.endpoint.slice(0, 80)}" is not an http(s) URL, e.g. http://127.0.0.1:4566 (what \`incident-flows sandbox\` prints)`);
    }
  }
  if (flags.region !== undefined && !REGION.test(flags.region)) throw new CliUsageError(`--region "${flags.region.slice(0, 40)}" is not an AWS region name, e.g. us-east-1`);
  if (flags.prefix !== undefined && !PREFIX.test(flags.prefix)) throw new CliUsageError(`--prefix "${flags.prefix.slice(0, 60)}" is not a stack prefix: letters, digits, - and _, e.g. incident-flows`);
  if (flags.table !== undefined && !TABLE.test(flags.table)) throw new CliUsageError(`--table "${flags.table.slice(0, 60)}" is not a DynamoDB table name: 3-255 letters, digits, _ - and .`);
}

export interface ConnectionFlags {
  endpoint?: string;
  region?: string;
  prefix?: string;
}

export const CONNECTION_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  prefix: { type: 'string' },
  local: { type: 'boolean', default: false },
} as const;

/**
 * `--endpoint URL`: a running `incident-flows sandbox` (dummy credentials unless the environment
 * has some). Without it, the SDK's normal chain: AWS_PROFILE, SSO, env, instance role — and
 * AWS_ENDPOINT_URL if set.
 */
export function clientOptionsFrom(flags: ConnectionFlags & { local?: boolean; table?: string }, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  checkConnectionFlags(flags);
  if (flags.local && !flags.endpoint && !env.AWS_ENDPOINT_URL) {
    throw new CliUsageError('--local needs the sandbox address: run `incident-flows sandbox` in another terminal and pass the URL it prints as --endpoint URL');
  }
  const endpoint = flags.endpoint ?? (flags.local ? env.AWS_ENDPOINT_URL : undefined);
  if (!endpoint) return flags.region ? { region: flags.region } : {};
  const haveCredentials = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY);
  return {
    endpoint,
    region: flags.region ?? env.AWS_REGION ?? 'us-east-1',
    ...(haveCredentials ? {} : { credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } }),
  };
}

/** Our state machines: named `<prefix>-<workflow>`. */
export async function ourStateMachines(sfn: SFNClient, prefix = 'incident-flows'): Promise<StateMachineListItem[]> {
  const machines: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    machines.push(...(page.stateMachines ?? []).filter((m) => m.name?.startsWith(`${prefix}-`)));
    nextToken = page.nextToken;
  } while (nextToken);
  return machines;
}

export async function resolveStateMachine(sfn: SFNClient, workflow: string, prefix = 'incident-flows'): Promise<string> {
  const suffix = WORKFLOWS[workflow];
  if (!suffix) throw new CliUsageError(`unknown workflow "${workflow}": available ${Object.keys(WORKFLOWS).filter((k) => !k.includes('-')).join(', ')} (P1 and P2 are not deployed yet)`);
  const machine = (await ourStateMachines(sfn, prefix)).find((m) => m.name === `${prefix}-${suffix}`);
  if (!machine?.stateMachineArn) throw new CliUsageError(`no state machine ${prefix}-${suffix} in this account/region — deployed? (npx cdk deploy), or pass --prefix`);
  return machine.stateMachineArn;
}

export interface StartOptions {
  workflow: string;
  service: string;
  cluster?: string;
  dryRun?: boolean;
  reason?: string;
  restartMode?: string;
  by?: string;
  /** Wait for the execution to end (dry runs always do: the plan is the point). */
  wait?: boolean;
  clients: ClientOptions;
  prefix?: string;
  timeoutSeconds?: number;
  /** Start even though an alarm's incident is already remediating the service. */
  force?: boolean;
  /** The incidents table; defaults to `<prefix>-incidents`. */
  incidentsTable?: string;
}

export interface StartResult {
  executionArn: string;
  consoleUrl: string;
  input: Record<string, unknown>;
  status?: string;
  outcome?: string;
  error?: string;
  cause?: string;
  plannedChanges?: unknown[];
}

export async function startWorkflow(opts: StartOptions): Promise<StartResult> {
  const input: Record<string, unknown> = {
    service: opts.service,
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.restartMode ? { restartMode: opts.restartMode } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    reason: opts.reason ?? `started by hand with the incident-flows CLI${opts.dryRun ? ' (dry run)' : ''}`,
    trigger: { kind: 'cli', by: opts.by ?? userInfo().username },
  };
  // The workflow validates too; checking here turns a failed execution into an instant message.
  parseInput(incidentInputSchema, input, 'start input');
  if (!opts.dryRun && !opts.force) await refuseIfRemediating(opts);
  const sfn = sfnClient(opts.clients);
  const stateMachineArn = await resolveStateMachine(sfn, opts.workflow, opts.prefix);
  const name = `cli-${opts.service.slice(0, 50)}-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const result: StartResult = { executionArn: executionArn!, consoleUrl: consoleLink(executionArn!), input };
  if (!opts.wait && !opts.dryRun) return result;
  return { ...result, ...(await waitForEnd(sfn, executionArn!, opts.timeoutSeconds ?? 900)) };
}

/**
 * Two restart loops on one service fight each other: when an alarm's incident is open and its
 * execution is running, a manual start is refused unless --force. No incidents table (a stack
 * without alarm starts, or no read access) is not a reason to block a person.
 */
async function refuseIfRemediating(opts: StartOptions): Promise<void> {
  const store = new IncidentStore(documentClient(opts.clients), opts.incidentsTable ?? `${opts.prefix ?? 'incident-flows'}-incidents`);
  let lock;
  try {
    lock = await store.lock(opts.service);
  } catch (err) {
    if (['ResourceNotFoundException', 'AccessDeniedException'].includes((err as Error).name)) return;
    throw err;
  }
  // The execution's status decides, not the lock's expiry: the sandbox's clock is not this one.
  if (lock?.state !== 'open' || !lock.executionArn) return;
  let status: string | undefined;
  try {
    ({ status } = await sfnClient(opts.clients).send(new DescribeExecutionCommand({ executionArn: lock.executionArn })));
  } catch (err) {
    // A lock held for an execution Step Functions never ran (or no longer has) is nobody remediating.
    if ((err as Error).name === 'ExecutionDoesNotExist') return;
    throw err;
  }
  if (status === 'RUNNING') {
    throw new CliUsageError(
      `${opts.service} already has an open incident ${lock.incidentId} (execution ${lock.executionArn.split(':').pop()}) remediating it — follow it with \`incident-flows status\`, or pass --force to start another run anyway`,
    );
  }
}

async function waitForEnd(sfn: SFNClient, executionArn: string, timeoutSeconds: number): Promise<Partial<StartResult>> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING' || Date.now() > deadline) {
      const output = parseOutput(d.output);
      return {
        status: d.status,
        ...(output?.outcome ? { outcome: output.outcome } : {}),
        ...(output?.restart?.changes ? { plannedChanges: output.restart.changes } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function parseOutput(text: string | undefined): { outcome?: string; restart?: { changes?: unknown[] } } | undefined {
  try {
    const v = text ? (JSON.parse(text) as unknown) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as { outcome?: string; restart?: { changes?: unknown[] } }) : undefined;
  } catch {
    return undefined;
  }
}

export function renderStart(r: StartResult): string {
  const lines = [`started ${r.executionArn}`, `console: ${r.consoleUrl}`];
  if (r.status) lines.push(`status: ${r.status}${r.outcome ? ` — outcome ${r.outcome}` : ''}${r.error ? ` — ${r.error}` : ''}`);
  if (r.input.dryRun) {
    if (r.plannedChanges?.length) {
      lines.push('DRY RUN — planned changes (none made):');
      for (const c of r.plannedChanges as Record<string, unknown>[]) lines.push(`  ${Object.entries(c).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
    } else if (r.status === 'SUCCEEDED') lines.push('DRY RUN — no changes planned: the service needs no restart');
  }
  if (r.cause) lines.push(`cause: ${r.cause}`);
  return `${lines.join('\n')}\n`;
}

/** CLI entry: exit 0 started (and, when waiting, succeeded), 1 the execution failed, 2 bad usage. */
export async function startCommand(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      service: { type: 'string' },
      cluster: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      reason: { type: 'string' },
      'restart-mode': { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  const workflow = positionals[0];
  if (!workflow || !values.service || positionals.length > 1) {
    throw new CliUsageError(
      `${positionals.length > 1 ? `unexpected argument "${String(positionals[1]).slice(0, 60)}"; ` : ''}usage: incident-flows start <workflow> --service NAME [--cluster NAME] [--dry-run] [--wait] [--force] [--endpoint URL]`,
    );
  }
  const result = await startWorkflow({
    workflow,
    service: values.service,
    ...(values.cluster ? { cluster: values.cluster } : {}),
    dryRun: values['dry-run'],
    ...(values.reason ? { reason: values.reason } : {}),
    ...(values['restart-mode'] ? { restartMode: values['restart-mode'] } : {}),
    wait: values.wait,
    force: values.force,
    clients: clientOptionsFrom(values),
    ...(values.prefix ? { prefix: values.prefix } : {}),
  });
  out(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderStart(result));
  return result.status === undefined || result.status === 'SUCCEEDED' ? 0 : 1;
}

/** Dispatch for cli/main.ts: a usage or input error is printed and exits 2, never a stack trace. */
export async function runIncidentCommand(command: 'start' | 'status' | 'list' | 'storm' | 'alarm', args: string[]): Promise<number> {
  try {
    if (command === 'start') return await startCommand(args);
    if (command === 'alarm') return await (await import('./alarm.ts')).alarmCommand(args);
    const status = await import('./status.ts');
    if (command === 'status') return await status.statusCommand(args);
    if (command === 'list') return await status.listCommand(args);
    return await (await import('./storm.ts')).stormCommand(args);
  } catch (err) {
    const usage = isUsageError(err);
    process.stderr.write(`incident-flows ${command}: ${usage ? oneLine((err as Error).message) : describeError(err, endpointIn(args))}\n`);
    if (process.env.INCIDENT_FLOWS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return usage ? 2 : 1;
  }
}

/** The --endpoint a command line names (for error messages), if any. */
export function endpointIn(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--endpoint') return args[i + 1];
    if (a.startsWith('--endpoint=')) return a.slice('--endpoint='.length);
  }
  return process.env.AWS_ENDPOINT_URL || undefined;
}
