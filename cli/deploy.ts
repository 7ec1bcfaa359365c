import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { sfnClient } from '#commons/clients';
import { consoleLink } from '#commons/report';
import { parseInput } from '#commons/validation';
import { deployInputSchema, rollbackInputSchema } from '#deployments/schemas';
import { clientOptionsFrom, CliUsageError, CONNECTION_OPTIONS, ourStateMachines, oneLine } from './start.ts';

/**
 * `incident-flows deploy --service NAME --image URI` and `incident-flows rollback --service NAME
 * [--mode quick|full]`: how a pipeline (or a person) hands a change to the deploy and rollback
 * workflows. The input is checked here with the workflow's own schema, then StartExecution;
 * `--wait` follows the execution to its end, so a CI job fails when the deployment was rolled back.
 *
 * Exit codes: 0 started (or, with --wait, succeeded); 1 the execution failed, was rolled back,
 * aborted or timed out; 2 usage or input errors; 3 --wait gave up while it still runs.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, stillRunning: 3 } as const;

const COMMON_OPTIONS = {
  ...CONNECTION_OPTIONS,
  service: { type: 'string' },
  cluster: { type: 'string' },
  reason: { type: 'string' },
  'health-url': { type: 'string' },
  smoke: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean', default: false },
  'require-approval': { type: 'boolean', default: false },
  wait: { type: 'boolean', default: false },
  'wait-minutes': { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export async function deployCommand(kind: 'deploy' | 'rollback', args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      ...(kind === 'deploy'
        ? { image: { type: 'string' }, 'task-definition': { type: 'string' }, container: { type: 'string' }, environment: { type: 'string' }, 'bake-minutes': { type: 'string' }, alarm: { type: 'string', multiple: true } }
        : { mode: { type: 'string' }, 'to-revision': { type: 'string' }, deployment: { type: 'string' } }),
    },
  });
  if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${oneLine(String(positionals[0])).slice(0, 60)}" — options start with --`);
  const v = values as Record<string, string | string[] | boolean | undefined>;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (!str('service')) throw new CliUsageError(`--service is required: incident-flows ${kind} --service NAME ${kind === 'deploy' ? '--image URI' : '[--mode quick|full]'}`);
  // A production approval may wait 4 h (the runbook's escalation), then the deployment, the bake and a rollback.
  const waitMinutes = str('wait-minutes') === undefined ? 360 : Number(str('wait-minutes'));
  if (!Number.isInteger(waitMinutes) || waitMinutes < 1 || waitMinutes > 24 * 60) throw new CliUsageError(`--wait-minutes "${str('wait-minutes')}" must be a whole number of minutes from 1 to 1440`);
  const input: Record<string, unknown> = {
    service: str('service'),
    ...(str('cluster') ? { cluster: str('cluster') } : {}),
    reason: str('reason') ?? `${kind} started with the incident-flows CLI`,
    trigger: { kind: 'cli', by: process.env.GITHUB_ACTOR ? `github:${process.env.GITHUB_ACTOR}` : userInfo().username },
    ...(str('health-url') ? { healthUrl: str('health-url') } : {}),
    ...(Array.isArray(v.smoke) ? { smokeChecks: (v.smoke as string[]).map((url) => ({ url })) } : {}),
    ...(v['dry-run'] ? { dryRun: true } : {}),
    ...(v['require-approval'] ? { requireApproval: true } : {}),
  };
  if (kind === 'deploy') {
    if (str('image')) input.image = str('image');
    if (str('task-definition')) input.taskDefinition = str('task-definition');
    if (str('container')) input.container = str('container');
    if (str('environment')) input.environment = str('environment');
    if (Array.isArray(v.alarm)) input.alarms = v.alarm;
    if (str('bake-minutes') !== undefined) input.bakeMinutes = numberFlag('bake-minutes', str('bake-minutes')!);
    parseInput(deployInputSchema, input, `${kind} input`);
  } else {
    if (str('mode')) input.mode = str('mode');
    if (str('to-revision')) input.toRevision = str('to-revision');
    if (str('deployment')) input.deployment = str('deployment');
    parseInput(rollbackInputSchema, input, `${kind} input`);
  }
  const clients = clientOptionsFrom(values as Parameters<typeof clientOptionsFrom>[0]);
  const sfn = sfnClient(clients);
  const prefix = str('prefix') ?? 'incident-flows';
  const machine = (await ourStateMachines(sfn, prefix)).find((m) => m.name === `${prefix}-${kind}`);
  if (!machine?.stateMachineArn) throw new CliUsageError(`no state machine ${prefix}-${kind} in this account/region — deployed? (npx cdk deploy), or pass --prefix`);
  const name = str('name') ?? `${kind}-${String(input.service).slice(0, 40)}-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, name, input: JSON.stringify(input) }));
  const result: Record<string, unknown> = { executionArn, consoleUrl: consoleLink(executionArn!), input };
  let code: number = EXIT.ok;
  if (v.wait || v['dry-run']) {
    const end = await waitForEnd(sfn, executionArn!, waitMinutes * 60, v.json ? undefined : (line) => process.stderr.write(`${line}\n`));
    Object.assign(result, end);
    code = end.status === 'SUCCEEDED' ? EXIT.ok : end.status === 'RUNNING' ? EXIT.stillRunning : EXIT.failed;
  }
  out(v.json ? `${JSON.stringify(result, null, 2)}\n` : render(kind, result));
  return code;
}

function numberFlag(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new CliUsageError(`--${flag} "${oneLine(raw).slice(0, 40)}" is not a number`);
  return n;
}

interface End {
  status: string;
  outcome?: string;
  error?: string;
  cause?: string;
}

/** Polls DescribeExecution (1 s, then up to every 15 s), printing the status when it changes. */
async function waitForEnd(sfn: SFNClient, executionArn: string, timeoutSeconds: number, progress?: (line: string) => void): Promise<End> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = '';
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15_000)) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const status = d.status ?? 'UNKNOWN';
    if (status !== last) progress?.(`${new Date().toISOString().slice(11, 19)} ${status}`);
    last = status;
    if (status !== 'RUNNING' || Date.now() > deadline) {
      let outcome: string | undefined;
      try {
        outcome = (JSON.parse(d.output ?? '{}') as { outcome?: string }).outcome;
      } catch {
        outcome = undefined;
      }
      if (d.error === 'DeploymentRolledBack') outcome = 'rolled-back';
      return { status, ...(outcome ? { outcome } : {}), ...(d.error ? { error: d.error } : {}), ...(d.cause ? { cause: d.cause } : {}) };
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function render(kind: string, r: Record<string, unknown>): string {
  const lines = [`started ${kind} ${String(r.executionArn)}`, `console: ${String(r.consoleUrl)}`];
  if (r.status) lines.push(`status: ${String(r.status)}${r.outcome ? ` — outcome ${String(r.outcome)}` : ''}${r.error ? ` — ${String(r.error)}` : ''}`);
  if (r.status === 'RUNNING') lines.push('still running: --wait gave up (raise --wait-minutes, or follow it with `incident-flows status`)');
  if (r.cause) lines.push(`cause: ${oneLine(String(r.cause))}`);
  return `${lines.join('\n')}\n`;
}
