import { setTimeout as sleep } from 'node:timers/promises';
import { AwsServiceError, type AwsJsonCall, type CallInterceptor } from '#sandbox/http';
import type { ApiFault } from '#sandbox/scenario';

/**
 * mulberry32: a tiny, fast PRNG with a 32-bit state. Every random choice in the sandbox comes
 * from one of these, so a drill with the same seed replays the same ids, jitter and faults.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fails or slows calls the way AWS does under load. Each matching fault draws from `rng` once
 * per call (and only matching faults draw), so the same seed and call sequence fail the same calls.
 */
export function apiFaultInterceptor(faults: ApiFault[], rng: () => number): CallInterceptor {
  // Per-fault counters: `afterCalls` lets the first matching calls through, `maxFailures` ends the
  // outage — together they fail exactly "the second UpdateService and its retries".
  const seen = faults.map(() => 0);
  const injected = faults.map(() => 0);
  return async (call): Promise<void | 'lose-response'> => {
    for (const [i, fault] of faults.entries()) {
      if (!matches(fault, call)) continue;
      seen[i]! += 1;
      if (seen[i]! <= fault.afterCalls) continue;
      if (fault.maxFailures !== undefined && injected[i]! >= fault.maxFailures) continue;
      if (rng() >= fault.rate) continue;
      injected[i]! += 1;
      if (fault.kind === 'slow-response') {
        await sleep(fault.delayMs);
        continue;
      }
      if (fault.kind === 'lost-response') return 'lose-response';
      throw faultError(fault, call);
    }
  };
}

function matches(fault: ApiFault, call: AwsJsonCall): boolean {
  return fault.api === call.api && (!fault.operations || fault.operations.includes(call.operation));
}

function faultError(fault: ApiFault, call: AwsJsonCall): AwsServiceError {
  if (fault.kind === 'throttle') return new AwsServiceError('ThrottlingException', 'Rate exceeded', 400);
  // ECS models its 5xx as ServerException; the other JSON APIs answer with the generic InternalFailure.
  const code = call.api === 'ecs' ? 'ServerException' : 'InternalFailure';
  return new AwsServiceError(code, `We encountered an internal error. Please try again. (${call.operation})`, 500);
}
