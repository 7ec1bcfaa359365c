import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Logger } from '#commons/logger';
import type { StabilityReading } from './reading.ts';
import type { Judgement, Verdict } from './verdict.ts';
import type { Watch, WatchStore } from './watches.ts';

/** What a wait step hands its workflow when it ends (the callback task's output). */
export interface WatchResult {
  verdict: Exclude<Verdict, 'waiting'>;
  stable: boolean;
  /** Not stable, and waiting longer will not help: the workflow moves on (redeploy or fail-safe). */
  exhausted: boolean;
  reason: string;
  /** What noticed the verdict: the step's own safety-net poll, or an ECS event delivered by EventBridge. */
  noticedBy: 'poll' | 'event';
  event?: string;
  runningCount: number;
  desiredCount: number;
  pendingCount: number;
  deployments: number;
  rolloutState: string | undefined;
  healthyCount?: number;
  targets?: StabilityReading['targets'];
  polls: number;
  elapsedSeconds: number;
  checkedAt: string;
}

export function resultOf(watch: Pick<Watch, 'sinceMs' | 'polls'>, reading: StabilityReading, judgement: Judgement, nowMs: number, noticed: { by: 'poll' | 'event'; event?: string }): WatchResult {
  const verdict = judgement.verdict === 'waiting' ? 'exhausted' : judgement.verdict;
  return {
    verdict,
    stable: verdict === 'stable',
    exhausted: verdict !== 'stable',
    reason: judgement.reason,
    noticedBy: noticed.by,
    ...(noticed.event ? { event: noticed.event } : {}),
    runningCount: reading.runningCount,
    desiredCount: reading.desiredCount,
    pendingCount: reading.pendingCount,
    deployments: reading.deployments,
    rolloutState: reading.rolloutState,
    ...(reading.healthyCount !== undefined ? { healthyCount: reading.healthyCount } : {}),
    ...(reading.targets ? { targets: reading.targets } : {}),
    polls: watch.polls,
    elapsedSeconds: Math.max(0, Math.round((nowMs - watch.sinceMs) / 1000)),
    checkedAt: new Date(nowMs).toISOString(),
  };
}

/** Errors SendTaskSuccess answers for a token that no longer waits: its step timed out, or the execution ended. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Ends the wait: claims the watch (only one releaser per token wins) and hands the result to the
 * workflow. A token that stopped waiting meanwhile is not an error: its step's timeout has already
 * started the next safety-net poll, which stores a fresh token.
 */
export async function release(deps: { watches: WatchStore; sfn: SFNClient; log: Logger }, watch: Watch, result: WatchResult): Promise<boolean> {
  if (!(await deps.watches.claim(watch.service, watch.watchId, watch.taskToken))) return false;
  try {
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: watch.taskToken, output: JSON.stringify(result) }));
  } catch (err) {
    if (!GONE.has((err as Error).name)) throw err;
    deps.log.info('the wait had already moved on', { watchId: watch.watchId, error: (err as Error).name });
    return false;
  }
  deps.log.info('wait released', { watchId: watch.watchId, verdict: result.verdict, noticedBy: result.noticedBy, event: result.event });
  return true;
}
