import { parseArgs } from 'node:util';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  APPROVAL_ID_PATTERN,
  ApprovalDecisionError,
  decideApproval,
  TIER_LABEL,
  type Decision,
  type DecisionResult,
} from '#commons/approvals';
import { documentClient, sfnClient, type ClientOptions } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv } from '#commons/config';
import { InvalidInputError } from '#commons/errors';
import { clientOptionsFrom, CONNECTION_OPTIONS, describeError, isUsageError, oneLine } from './start.ts';

/**
 * The fallback for when Slack is down: `incident-flows approve <id>` / `reject <id> --reason …`.
 * Same exactly-once path as a Slack click (handlers/commons/approvals.ts); the decider is the
 * caller's AWS identity, whose IAM rights (approvals table, SendTask*) are the authorisation.
 */

export interface CallerIdentity {
  arn: string;
}

export interface CliDecisionDeps {
  dynamo: DynamoDBDocumentClient;
  sfn: SFNClient;
  clock: Clock;
  table: string;
  identity: () => Promise<CallerIdentity>;
}

/** In the sandbox there is no STS: every CLI decision is made by this fixed identity. */
export const SANDBOX_IDENTITY: CallerIdentity = { arn: 'arn:aws:iam::123456789012:user/sandbox-operator' };

export async function decideFromCli(approvalId: string, decision: Decision, reason: string | undefined, deps: CliDecisionDeps): Promise<DecisionResult> {
  if (!APPROVAL_ID_PATTERN.test(approvalId)) {
    throw new InvalidInputError(`"${approvalId.slice(0, 80)}" is not an approval id: copy it from the Slack message or the execution, e.g. apr-0123456789abcdef0123`);
  }
  if (decision === 'rejected' && !reason?.trim()) throw new InvalidInputError('reject needs --reason "…": say why, it is recorded with the decision');
  const { arn } = await deps.identity();
  if (typeof arn !== 'string' || arn.length === 0) throw new Error('STS GetCallerIdentity returned no ARN');
  return decideApproval(
    { approvalId, decision, by: { id: arn, name: arn.split('/').slice(1).join('/') || arn, via: 'cli' }, ...(reason?.trim() ? { reason: reason.trim().slice(0, 500) } : {}) },
    { dynamo: deps.dynamo, sfn: deps.sfn, clock: deps.clock, table: deps.table },
  );
}

/** True when the AWS endpoint is the local sandbox (loopback), where STS is not served. */
export function isSandboxEndpoint(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.INCIDENT_FLOWS_SANDBOX === '1' || /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(env.AWS_ENDPOINT_URL ?? '');
}

async function stsIdentity(clients: ClientOptions): Promise<CallerIdentity> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const out = await new STSClient({ ...(clients.region ? { region: clients.region } : {}) }).send(new GetCallerIdentityCommand({}));
  if (!out.Arn) throw new Error('STS GetCallerIdentity returned no ARN');
  return { arn: out.Arn };
}

/**
 * `approve|reject --json`: the decision as recorded (exit 0), or why it was not taken (exit 1,
 * `decided: false`). Never the Slack response URL or the task token.
 */
export interface ApproveJson {
  approvalId: string;
  decided: boolean;
  /** decided: recorded now; duplicate: the same decision was already recorded (the command ran twice). */
  result?: DecisionResult['kind'];
  status?: string;
  decision: Decision;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  severity?: string;
  what?: string;
  tier?: string;
  service?: string;
  execution?: string;
  error?: string;
  message?: string;
}

/** Writable streams, or anything with a write(text) (tests). */
interface Out {
  write(text: string): unknown;
}

/** `incident-flows approve|reject <approval-id> [--reason …] [--json]`. Exit codes: 0 decided, 1 refused or not recorded, 2 bad usage. */
export async function approveCommand(args: string[], decision: Decision, out: Out = process.stdout, err: Out = process.stderr, clock: Clock = systemClock): Promise<number> {
  const verb = decision === 'approved' ? 'approve' : 'reject';
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, reason: { type: 'string' }, table: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
  } catch (e) {
    err.write(`incident-flows ${verb}: ${oneLine((e as Error).message)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    err.write(`incident-flows ${verb}: usage: incident-flows ${verb} <approval-id>${decision === 'rejected' ? ' --reason "…"' : ' [--reason "…"]'} [--json] [--prefix P | --table NAME] [--endpoint URL] [--region R]\n`);
    return 2;
  }
  const json = (body: ApproveJson) => {
    if (values.json) out.write(`${JSON.stringify(body, null, 2)}\n`);
  };
  let endpoint: string | undefined;
  try {
    // Same connection flags as start/status/list; the table follows the stack's prefix.
    const clients = clientOptionsFrom(values);
    endpoint = clients.endpoint ?? (process.env.AWS_ENDPOINT_URL || undefined);
    const sandbox = isSandboxEndpoint({ ...process.env, ...(clients.endpoint ? { AWS_ENDPOINT_URL: clients.endpoint } : {}) });
    const deps: CliDecisionDeps = {
      dynamo: documentClient(clients),
      sfn: sfnClient(clients),
      clock,
      table: values.table ?? (values.prefix ? `${values.prefix}-approvals` : configFromEnv().approvalsTable),
      identity: sandbox ? async () => SANDBOX_IDENTITY : () => stsIdentity(clients),
    };
    const result = await decideFromCli(id, decision, values.reason, deps);
    const a = result.approval;
    if (values.json) {
      json({
        approvalId: a.id,
        decided: true,
        result: result.kind,
        status: a.status,
        decision,
        ...(a.decidedBy?.id ? { decidedBy: a.decidedBy.id } : {}),
        ...(a.decidedAt ? { decidedAt: a.decidedAt } : {}),
        ...(a.reason ? { reason: a.reason } : {}),
        severity: a.severity,
        what: a.what,
        tier: a.tier,
        service: a.service,
        execution: a.execution,
      });
    } else {
      out.write(`${a.id}: ${a.status} by ${a.decidedBy?.id ?? '?'} at ${a.decidedAt ?? '?'} — ${a.severity} ${a.what} (${TIER_LABEL[a.tier]} tier); the workflow carries on\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof InvalidInputError || isUsageError(e)) {
      err.write(`incident-flows ${verb}: ${oneLine((e as Error).message)}\n`);
      return 2;
    }
    const refused = (message: string) => json({ approvalId: oneLine(id).slice(0, 80), decided: false, decision, error: (e as Error)?.name || 'Error', message });
    if (e instanceof ApprovalDecisionError) {
      refused(oneLine(e.message));
      err.write(`incident-flows ${verb}: ${oneLine(e.message)}\n`);
      return 1;
    }
    // Any other failure (AWS unreachable, access denied, a table that does not exist): one line, and
    // what it means for the decision — it may or may not have been recorded; running it again is safe.
    const why = `${oneLine(id)} could not be decided: ${describeError(e, endpoint)} — it may not be recorded; the same command again is safe (a decision is recorded once)`;
    refused(why);
    err.write(`incident-flows ${verb}: ${why}\n`);
    if (process.env.INCIDENT_FLOWS_DEBUG && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    return 1;
  }
}
