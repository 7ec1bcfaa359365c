import * as z from 'zod';

/**
 * How long a change may take, derived from the service rather than fixed: a wait bounded by
 * progress. Tasks advancing (provisioning → running → healthy, old tasks draining) keep the wait
 * alive; no visible progress for `stallSeconds` ends it. Every figure that legitimately shows no
 * progress for a while feeds that bound: the expected start the team configured, the health-check
 * grace period, the deregistration delay (old targets drain that long, 300 s by default), the
 * load balancer's health-check cycle, and how long the service's last deployment took.
 */

export interface WaitBasis {
  /** Seconds a new task needs to start and pass its health checks (the team's configuration). */
  expectedStartSeconds: number;
  healthCheckGracePeriodSeconds?: number;
  /** The longest deregistration delay of the service's target groups. */
  deregistrationDelaySeconds?: number;
  /** From registration to healthy at the earliest, and back from unhealthy: interval × healthy threshold. */
  targetHealthySeconds?: number;
  /** Creation to completion of the deployment the service ran before the change. */
  lastDeploymentSeconds?: number;
}

export interface WaitPlan {
  /** The safety-net poll's cadence, when no ECS event arrives. */
  checkEverySeconds: number;
  /** Give up after this long without visible progress. */
  stallSeconds: number;
  /** Give up after this long whatever happens (every loop is bounded in time). */
  maxSeconds: number;
  /** The figures the plan was derived from, for the record. */
  basis?: WaitBasis;
}

const MIN_STALL_SECONDS = 120;
const MIN_CHECK_SECONDS = 15;
const MAX_CHECK_SECONDS = 120;
const MIN_MAX_SECONDS = 600;
/** Two waits (restart, then redeploy) must fit inside the workflow's own timeout. */
export const MAX_WAIT_SECONDS = 45 * 60;

export function planWait(basis: WaitBasis): WaitPlan {
  const quiet = Math.max(
    basis.expectedStartSeconds,
    basis.healthCheckGracePeriodSeconds ?? 0,
    (basis.deregistrationDelaySeconds ?? 0) + 30,
    basis.targetHealthySeconds ?? 0,
    basis.lastDeploymentSeconds ?? 0,
  );
  const stallSeconds = Math.min(MAX_WAIT_SECONDS, Math.max(MIN_STALL_SECONDS, Math.ceil(1.5 * quiet)));
  return {
    checkEverySeconds: clamp(Math.round(stallSeconds / 8), MIN_CHECK_SECONDS, MAX_CHECK_SECONDS),
    stallSeconds,
    maxSeconds: clamp(3 * stallSeconds, MIN_MAX_SECONDS, MAX_WAIT_SECONDS),
    basis,
  };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/** A plan as it travels in the workflow's state (validated where a handler reads it back). */
export const waitPlanSchema = z
  .object({
    checkEverySeconds: z.number().int().min(1).max(3600),
    stallSeconds: z.number().int().min(1).max(24 * 3600),
    maxSeconds: z.number().int().min(1).max(24 * 3600),
    basis: z
      .object({
        expectedStartSeconds: z.number(),
        healthCheckGracePeriodSeconds: z.number().optional(),
        deregistrationDelaySeconds: z.number().optional(),
        targetHealthySeconds: z.number().optional(),
        lastDeploymentSeconds: z.number().optional(),
      })
      .optional(),
  })
  .loose();
