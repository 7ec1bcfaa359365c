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
export function clientOptionsFrom(flags: ConnectionFlags & { local?: boolean }, env: NodeJS.ProcessEnv = process.env): ClientOptions {
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
  const { status } = await sfnClient(opts.clients).send(new DescribeExecutionCommand({ executionArn: lock.executionArn }));
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
      const output = d.output ? (JSON.parse(d.output) as { outcome?: string; restart?: { changes?: unknown[] } }) : undefined;
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
  if (!workflow || !values.service) throw new CliUsageError('usage: incident-flows start <workflow> --service NAME [--cluster NAME] [--dry-run] [--wait] [--force] [--endpoint URL]');
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
    const e = err as Error & { code?: string };
    const usage = e instanceof CliUsageError || e.name === 'InvalidInputError' || e.code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`incident-flows ${command}: ${e.message}\n`);
    return usage ? 2 : 1;
  }
}
