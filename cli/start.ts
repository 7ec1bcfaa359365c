import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand, type StateMachineListItem } from '@aws-sdk/client-sfn';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { documentClient, sfnClient, type ClientOptions } from '#commons/clients';
import { IncidentStore } from '#commons/incidents';
import { consoleLink } from '#commons/report';
import { incidentInputSchema } from '#commons/schemas';
import { parseInput } from '#commons/validation';
import { healthCheckInputSchema } from '../handlers/health/plan.ts';

/**
 * `incident-flows start <workflow> --service NAME [--cluster NAME] [--dry-run]`: a manual start,
 * validated here with the same schema the workflow's first state uses, then StartExecution.
 * Works against AWS (normal credential chain) or a running sandbox (`--endpoint URL`).
 *
 * Exit codes (the same rule as `incident-flows deploy`): 0 started (with --wait: succeeded); 1 the
 * execution failed, was aborted or timed out (also when it failed within seconds of its start: a
 * service the stack does not manage); 2 usage or input errors; 3 --wait gave up while it still runs.
 */
export const START_EXIT = { ok: 0, failed: 1, usage: 2, stillRunning: 3 } as const;

/** Short names people type → the workflow's state machine suffix (`<prefix>-<suffix>`). */
export const WORKFLOWS: Record<string, string> = {
  p0: 'p0-system-down',
  'p0-system-down': 'p0-system-down',
  p1: 'p1-degraded',
  'p1-degraded': 'p1-degraded',
  p2: 'p2-minor',
  'p2-minor': 'p2-minor',
  'health-check': 'health-check',
};

/** What `start` offers, as people type it. */
export const WORKFLOW_NAMES = ['p0', 'p1', 'p2', 'health-check'] as const;

/** The workflows that change a service (restart, scale out): two of them on one service fight each other. */
const CHANGES_THE_SERVICE = new Set(['p0-system-down', 'p1-degraded']);

/** StartExecution's statuses that mean the execution ended without succeeding. */
const ENDED_BADLY = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** How long `start` (without --wait) watches a new execution for its first state: bad input and unmanaged services fail there. */
export const FIRST_STATE_CHECK_SECONDS = 3;

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
  const suffix = workflowSuffix(workflow);
  const machine = (await ourStateMachines(sfn, prefix)).find((m) => m.name === `${prefix}-${suffix}`);
  if (!machine?.stateMachineArn) throw new CliUsageError(`no state machine ${prefix}-${suffix} in this account/region — deployed? (npx cdk deploy), or pass --prefix`);
  return machine.stateMachineArn;
}

export interface StartOptions {
  workflow: string;
  /** The service to act on; the health check takes none (all configured services) or one to narrow it to. */
  service?: string;
  cluster?: string;
  dryRun?: boolean;
  reason?: string;
  restartMode?: string;
  by?: string;
  /** Wait for the execution to end (dry runs always do: the plan is the point). */
  wait?: boolean;
  clients: ClientOptions;
  prefix?: string;
  /** How long a wait lasts before it gives up (status RUNNING); default 900 s. */
  timeoutSeconds?: number;
  /** Without a wait: how long to watch the new execution's first state; default FIRST_STATE_CHECK_SECONDS, 0 not at all. */
  checkSeconds?: number;
  /** Start even though an alarm's incident is already remediating the service. */
  force?: boolean;
  /** The incidents table; defaults to `<prefix>-incidents`. */
  incidentsTable?: string;
  /** While waiting: a line each time the status or the current state changes. */
  progress?: (line: string) => void;
}

export interface StartResult {
  executionArn: string;
  consoleUrl: string;
  input: Record<string, unknown>;
  /** Whether the command waited for the end (--wait, --dry-run), or only watched the first state. */
  waited: boolean;
  status?: string;
  /** The state it was in when last seen running. */
  currentState?: string;
  /** Without --wait: the first state (which checks the input and the service) had finished when last seen. */
  inputAccepted?: boolean;
  outcome?: string;
  error?: string;
  cause?: string;
  plannedChanges?: unknown[];
}

/** The state machine suffix for a workflow name people type, or a usage error listing the names. */
export function workflowSuffix(workflow: string): string {
  if (!Object.hasOwn(WORKFLOWS, workflow)) throw new CliUsageError(`unknown workflow "${oneLine(workflow).slice(0, 60)}": use one of ${WORKFLOW_NAMES.join(', ')}`);
  return WORKFLOWS[workflow]!;
}

/** The start input for a workflow, validated with the schema its first state uses. */
export function startInput(opts: Omit<StartOptions, 'clients'>): Record<string, unknown> {
  const suffix = workflowSuffix(opts.workflow);
  const by = opts.by ?? userInfo().username;
  if (suffix === 'health-check') {
    // The schedule starts it with {"trigger": {"kind": "schedule"}}; a person may narrow it to one service.
    const misplaced = [opts.cluster && '--cluster', opts.restartMode && '--restart-mode', opts.dryRun && '--dry-run', opts.force && '--force'].filter(Boolean);
    if (misplaced.length) throw new CliUsageError(`${misplaced.join(', ')}: not for the health check, which only reads (it takes --service NAME to check one service)`);
    const input: Record<string, unknown> = {
      ...(opts.service !== undefined ? { services: [opts.service] } : {}),
      reason: opts.reason ?? 'started by hand with the incident-flows CLI',
      trigger: { kind: 'cli', by },
    };
    parseInput(healthCheckInputSchema, input, 'start input');
    return input;
  }
  if (opts.service === undefined) throw new CliUsageError(`--service NAME is required: incident-flows start ${opts.workflow} --service NAME`);
  const input: Record<string, unknown> = {
    service: opts.service,
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.restartMode ? { restartMode: opts.restartMode } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    reason: opts.reason ?? `started by hand with the incident-flows CLI${opts.dryRun ? ' (dry run)' : ''}`,
    trigger: { kind: 'cli', by },
  };
  parseInput(incidentInputSchema, input, 'start input');
  return input;
}

export async function startWorkflow(opts: StartOptions): Promise<StartResult> {
  // The workflow validates too; checking here turns a failed execution into an instant message.
  const input = startInput(opts);
  const suffix = workflowSuffix(opts.workflow);
  if (opts.service !== undefined && CHANGES_THE_SERVICE.has(suffix) && !opts.dryRun && !opts.force) await refuseIfRemediating(opts, opts.service);
  const sfn = sfnClient(opts.clients);
  const stateMachineArn = await resolveStateMachine(sfn, opts.workflow, opts.prefix);
  const name = `cli-${(opts.service ?? suffix).slice(0, 50)}-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
  const result: StartResult = { executionArn: executionArn!, consoleUrl: consoleLink(executionArn!), input, waited: false };
  if (opts.wait || opts.dryRun) return { ...result, waited: true, ...(await waitForEnd(sfn, executionArn!, opts.timeoutSeconds ?? 900, opts.progress)) };
  return { ...result, ...(await firstState(sfn, executionArn!, opts.checkSeconds ?? FIRST_STATE_CHECK_SECONDS)) };
}

/** 0 started or succeeded, 1 failed/aborted/timed out, 3 a wait that gave up while it still runs. */
export function startExitCode(r: StartResult): number {
  if (r.status !== undefined && ENDED_BADLY.has(r.status)) return START_EXIT.failed;
  if (r.waited && r.status !== 'SUCCEEDED') return r.status === 'RUNNING' ? START_EXIT.stillRunning : START_EXIT.failed;
  return START_EXIT.ok;
}

/**
 * Two restart loops on one service fight each other: when an alarm's incident is open and its
 * execution is running, a manual start is refused unless --force. No incidents table (a stack
 * without alarm starts, or no read access) is not a reason to block a person.
 */
async function refuseIfRemediating(opts: StartOptions, service: string): Promise<void> {
  const store = new IncidentStore(documentClient(opts.clients), opts.incidentsTable ?? `${opts.prefix ?? 'incident-flows'}-incidents`);
  let lock;
  try {
    lock = await store.lock(service);
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
      `${service} already has an open incident ${lock.incidentId} (execution ${lock.executionArn.split(':').pop()}) remediating it — follow it with \`incident-flows status\`, or pass --force to start another run anyway`,
    );
  }
}

/** The execution as DescribeExecution tells it, with its outcome and planned changes when it ended. */
async function describe(sfn: SFNClient, executionArn: string): Promise<Partial<StartResult> & { status: string }> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const output = parseOutput(d.output);
  const changes = output?.restart?.changes ?? output?.scaleOut?.changes;
  return {
    status: d.status ?? 'UNKNOWN',
    ...(output?.outcome ? { outcome: output.outcome } : {}),
    ...(changes ? { plannedChanges: changes } : {}),
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause } : {}),
  };
}

/** The newest history events, newest first; none when the history cannot be read (no permission: the status still tells). */
async function recentEvents(sfn: SFNClient, executionArn: string, reverseOrder: boolean): Promise<{ type?: string; stateEnteredEventDetails?: { name?: string } }[]> {
  try {
    return (await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder, maxResults: 50 }))).events ?? [];
  } catch {
    return [];
  }
}

/** Task success events (a Lambda task, or a Task state on the legacy Lambda integration). */
const TASK_SUCCEEDED = new Set(['TaskSucceeded', 'LambdaFunctionSucceeded']);

/**
 * Without --wait: watches the new execution for a few seconds, until its first state has finished
 * (it checks the input and that the stack manages the service) or the execution ended — so a start
 * that is bound to fail is not reported as "started". A failure to look is not the start's failure.
 */
async function firstState(sfn: SFNClient, executionArn: string, seconds: number): Promise<Partial<StartResult>> {
  if (seconds <= 0) return {};
  const deadline = Date.now() + seconds * 1000;
  let seen: Partial<StartResult> = {};
  for (let delay = 100; ; delay = Math.min(delay * 2, 800)) {
    try {
      seen = await describe(sfn, executionArn);
    } catch {
      return seen;
    }
    if (seen.status !== 'RUNNING') return seen;
    const events = await recentEvents(sfn, executionArn, false);
    const entered = [...events].reverse().find((e) => e.type?.endsWith('StateEntered'))?.stateEnteredEventDetails?.name;
    if (entered) seen = { ...seen, currentState: entered };
    if (events.some((e) => e.type !== undefined && TASK_SUCCEEDED.has(e.type))) return { ...seen, inputAccepted: true };
    if (Date.now() + delay > deadline) return seen;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function waitForEnd(sfn: SFNClient, executionArn: string, timeoutSeconds: number, progress?: (line: string) => void): Promise<Partial<StartResult>> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const d = await describe(sfn, executionArn);
    const givingUp = Date.now() > deadline;
    let where: string | undefined;
    // Where it is: for the progress lines, and once for the message when the wait gives up.
    if (d.status === 'RUNNING' && (progress || givingUp)) {
      where = (await recentEvents(sfn, executionArn, true)).find((e) => e.type?.endsWith('StateEntered'))?.stateEnteredEventDetails?.name;
    }
    const line = `${d.status}${where ? ` — ${oneLine(where)}` : ''}${d.error ? ` — ${oneLine(d.error)}` : ''}`;
    if (line !== last) progress?.(`${new Date().toISOString().slice(11, 19)} ${line}`);
    last = line;
    if (d.status !== 'RUNNING' || givingUp) return { ...d, ...(where ? { currentState: where } : {}) };
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(delay, deadline - Date.now() + 1))));
  }
}

interface WorkflowOutput {
  outcome?: string;
  restart?: { changes?: unknown[] };
  scaleOut?: { changes?: unknown[] };
}

function parseOutput(text: string | undefined): WorkflowOutput | undefined {
  try {
    const v = text ? (JSON.parse(text) as unknown) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as WorkflowOutput) : undefined;
  } catch {
    return undefined;
  }
}

export function renderStart(r: StartResult, waitMinutes?: number): string {
  const name = r.executionArn.split(':').pop() ?? r.executionArn;
  const failedAtOnce = !r.waited && r.status !== undefined && ENDED_BADLY.has(r.status);
  const lines = [failedAtOnce ? `execution failed at once: ${r.executionArn}` : `started ${r.executionArn}`, `console: ${r.consoleUrl}`];
  if (r.status === 'RUNNING' && !r.waited) {
    lines.push(
      `status: RUNNING${r.currentState ? ` — in "${oneLine(r.currentState)}"` : ''}${r.inputAccepted ? '; its first state accepted the input' : ''} — follow it with \`incident-flows status ${name}\``,
    );
  } else if (r.status) {
    const where = r.status === 'RUNNING' && r.currentState ? ` — in "${oneLine(r.currentState)}"` : '';
    lines.push(`status: ${r.status}${where}${r.outcome ? ` — outcome ${r.outcome}` : ''}${r.error ? ` — ${r.error}` : ''}`);
  }
  if (r.waited && r.status === 'RUNNING') {
    lines.push(`still running: --wait gave up${waitMinutes !== undefined ? ` after ${waitMinutes} minute(s)` : ''} (raise --wait-minutes, or follow it with \`incident-flows status ${name}\`)`);
  }
  if (r.input.dryRun) {
    if (r.plannedChanges?.length) {
      lines.push('DRY RUN — planned changes (none made):');
      for (const c of r.plannedChanges as Record<string, unknown>[]) lines.push(`  ${Object.entries(c).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
    } else if (r.status === 'SUCCEEDED') lines.push(`DRY RUN — no changes planned: the service needs no ${r.executionArn.includes('-p1-degraded:') ? 'scale-out' : 'restart'}`);
  }
  if (r.cause) lines.push(`cause: ${oneLine(r.cause)}`);
  return `${lines.join('\n')}\n`;
}

/** `--wait-minutes N`: a number of minutes above 0 and at most a day (fractions allowed: 0.5 is 30 s). */
export function waitMinutesFlag(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 1440) throw new CliUsageError(`--wait-minutes "${oneLine(raw).slice(0, 40)}" must be a number of minutes above 0 and at most 1440, e.g. --wait-minutes 30`);
  return n;
}

const RESTART_MODES = ['force-new-deployment', 'scale-to-zero'] as const;

/** CLI entry. Exit codes: see START_EXIT. */
export async function startCommand(
  args: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  progress: ((line: string) => void) | undefined = process.stderr.isTTY ? (line) => process.stderr.write(`${line}\n`) : undefined,
): Promise<number> {
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
      'wait-minutes': { type: 'string' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  const workflow = positionals[0];
  const usage = `usage: incident-flows start <${WORKFLOW_NAMES.join('|')}> --service NAME [--cluster NAME] [--dry-run] [--wait [--wait-minutes N]] [--force] [--endpoint URL]`;
  if (!workflow || positionals.length > 1) {
    throw new CliUsageError(`${positionals.length > 1 ? `unexpected argument "${oneLine(String(positionals[1])).slice(0, 60)}"; ` : ''}${usage}`);
  }
  const suffix = workflowSuffix(workflow);
  if (!values.service && suffix !== 'health-check') throw new CliUsageError(`--service NAME is required; ${usage}`);
  const restartMode = values['restart-mode'];
  if (restartMode !== undefined && !(RESTART_MODES as readonly string[]).includes(restartMode)) {
    throw new CliUsageError(`--restart-mode "${oneLine(restartMode).slice(0, 40)}": use ${RESTART_MODES.join(' or ')}`);
  }
  const waitMinutes = waitMinutesFlag(values['wait-minutes'], 15);
  if (values['wait-minutes'] !== undefined && !values.wait && !values['dry-run']) throw new CliUsageError('--wait-minutes goes with --wait: incident-flows start … --wait --wait-minutes N');
  const result = await startWorkflow({
    workflow,
    ...(values.service !== undefined ? { service: values.service } : {}),
    ...(values.cluster ? { cluster: values.cluster } : {}),
    dryRun: values['dry-run'],
    ...(values.reason ? { reason: values.reason } : {}),
    ...(restartMode ? { restartMode } : {}),
    wait: values.wait,
    timeoutSeconds: waitMinutes * 60,
    force: values.force,
    clients: clientOptionsFrom(values),
    ...(values.prefix ? { prefix: values.prefix } : {}),
    // --json keeps stdout to the one JSON document; progress goes to stderr, and only to a person's terminal.
    ...(progress && !values.json ? { progress } : {}),
  });
  out(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderStart(result, waitMinutes));
  return startExitCode(result);
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
