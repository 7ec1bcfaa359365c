import type { Incident } from '#commons/schemas';
import { AWS_CLOUDTRAIL } from '#sandbox/cloudtrail';
import { AWS_LOGS } from '#sandbox/logs';
import type { Sandbox } from '../../sandbox/index.ts';

export const CLUSTER = 'acme-cluster';
export const AXON = 'acme-axon';
export const GROUP = `/ecs/${AXON}`;

/** The P0 incident for acme-axon as the start input resolves it (60 minutes of lookback). */
export function axonIncident(overrides: Partial<Incident> = {}): Incident {
  return { service: AXON, cluster: CLUSTER, logGroup: GROUP, restartMode: 'force-new-deployment', lookbackMinutes: 60, expectedStartSeconds: 30, dryRun: false, ...overrides };
}

/** CloudTrail and CloudWatch Logs with AWS's limits: 2 and 5 requests/s, ~5 min delivery, bounded scans. */
export function likeAws(sandbox: Sandbox): Sandbox {
  sandbox.trail.setBehaviour(AWS_CLOUDTRAIL);
  sandbox.logs.setBehaviour(AWS_LOGS);
  return sandbox;
}

/** ThrottlingExceptions the sandbox answered on one API, from its call log. */
export function throttles(sandbox: Sandbox, api: 'cloudtrail' | 'logs'): number {
  return sandbox.calls.filter((c) => c.api === api && c.errorCode === 'ThrottlingException').length;
}

/** Calls the sandbox answered on one operation between two indexes of its call log. */
export function callsOf(sandbox: Sandbox, operation: string, from = 0): number {
  return sandbox.calls.slice(from).filter((c) => c.operation === operation).length;
}

export const minutesAgo = (sandbox: Sandbox, minutes: number) => new Date(sandbox.clock.nowMs() - minutes * 60_000);

/**
 * A chatty service's log group: `lines` lines spread evenly over [from, to] across 20 task streams,
 * INFO except where `errorAt(i)` returns an ERROR message. Returns the ERROR lines written, by time.
 */
export function writeLogs(sandbox: Sandbox, opts: { from: Date; to: Date; lines: number; errorAt?: (i: number, timeMs: number) => string | undefined }): { timeMs: number; message: string }[] {
  const from = opts.from.getTime();
  const span = opts.to.getTime() - from;
  const errors: { timeMs: number; message: string }[] = [];
  const info = 'INFO GET /api/orders 200 12ms';
  for (let i = 0; i < opts.lines; i += 1) {
    const timeMs = from + Math.floor((span * i) / opts.lines);
    const error = opts.errorAt?.(i, timeMs);
    if (error) errors.push({ timeMs, message: error });
    sandbox.logs.write(GROUP, `ecs/${AXON}/task${String(i % 20).padStart(2, '0')}`, timeMs, error ?? info);
  }
  return errors;
}
