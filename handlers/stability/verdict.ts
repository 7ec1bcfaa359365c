import type { StabilityReading } from './reading.ts';
import type { WaitPlan } from './bounds.ts';

/** What a look at the service says about the wait: done, give up, or keep waiting. */
export type Verdict = 'stable' | 'failed' | 'stalled' | 'exhausted' | 'waiting';

export interface Judgement {
  verdict: Verdict;
  reason: string;
}

export interface WaitProgress {
  /** When the change was made. */
  sinceMs: number;
  /** When the service last visibly moved. */
  lastProgressMs: number;
}

/**
 * Judges one reading. Failure is decided from what ECS says, promptly: the circuit breaker's
 * FAILED, the change's deployment replaced (rolled back), or the new deployment failing task after
 * task (twice the desired count, at least 3 — the fault survived the change, waiting will not help).
 */
export function judge(reading: StabilityReading, plan: WaitPlan, progress: WaitProgress, nowMs: number): Judgement {
  if (reading.stable) return { verdict: 'stable', reason: stableReason(reading) };
  const change = reading.change;
  if (change?.rolloutState === 'FAILED') {
    return { verdict: 'failed', reason: `ECS failed deployment ${change.deploymentId}: ${change.rolloutStateReason ?? 'circuit breaker'}` };
  }
  if (change && change.status !== 'PRIMARY') {
    return { verdict: 'failed', reason: `deployment ${change.deploymentId} was replaced (rolled back or superseded) before it completed` };
  }
  const giveUpAt = Math.max(3, 2 * reading.desiredCount);
  if (change && change.failedTasks >= giveUpAt) {
    return { verdict: 'failed', reason: `deployment ${change.deploymentId} keeps failing tasks (${change.failedTasks} failed): waiting will not make them start` };
  }
  if ((reading.failedSinceChange ?? 0) >= giveUpAt) {
    return { verdict: 'failed', reason: `${reading.failedSinceChange} tasks started since the change failed: the fault survived it` };
  }
  const elapsed = (nowMs - progress.sinceMs) / 1000;
  if (elapsed >= plan.maxSeconds) return { verdict: 'exhausted', reason: `not stable after ${Math.round(elapsed)} s (the bound is ${plan.maxSeconds} s): ${reading.waitingFor.join('; ')}` };
  const quiet = (nowMs - progress.lastProgressMs) / 1000;
  if (quiet >= plan.stallSeconds) {
    return { verdict: 'stalled', reason: `no progress for ${Math.round(quiet)} s (the bound for this service is ${plan.stallSeconds} s): ${reading.waitingFor.join('; ')}` };
  }
  return { verdict: 'waiting', reason: reading.waitingFor.join('; ') };
}

/**
 * What counts as progress: any change in the tasks' counts per deployment, in container health,
 * or in target health. A crash loop "moves" too, but its failed tasks end the wait first.
 */
export function progressSignature(reading: StabilityReading): string {
  const t = reading.targets;
  return [
    reading.deployments,
    reading.runningCount,
    reading.pendingCount,
    reading.desiredCount,
    reading.rolloutState ?? '-',
    reading.change ? `${reading.change.status}:${reading.change.failedTasks}` : (reading.failedSinceChange ?? '-'),
    reading.healthyCount ?? '-',
    t ? `${t.healthy}/${t.unhealthy}/${t.other}` : '-',
  ].join('|');
}

function stableReason(r: StabilityReading): string {
  const parts = [`${r.runningCount}/${r.desiredCount} running`];
  if (r.healthyCount !== undefined) parts.push(`${r.healthyCount} healthy`);
  if (r.targets) parts.push(`${r.targets.healthy}/${r.targets.total} targets healthy`);
  parts.push(`${r.deployments} deployment`);
  return `stable: ${parts.join(', ')}`;
}
