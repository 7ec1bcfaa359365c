import { describe, expect, test } from 'vitest';
import { documentClient, ecsClient, elbv2Client, sfnClient } from '#commons/clients';
import { silentLogger } from '#commons/logger';
import { planWait } from '#stability/bounds';
import type { StabilityReading } from '#stability/reading';
import { judge } from '#stability/verdict';
import { WatchStore } from '#stability/watches';
import { onEcsEvent } from '../../handlers/ecs-events.ts';
import { withSandbox } from '../support/p0.ts';

const reading = (extra: Partial<StabilityReading> = {}): StabilityReading => ({
  stable: false,
  waitingFor: ['1/2 running'],
  runningCount: 1,
  desiredCount: 2,
  pendingCount: 1,
  deployments: 2,
  rolloutState: 'IN_PROGRESS',
  healthyCount: undefined,
  ...extra,
});

describe('how long a wait may take comes from the service', () => {
  test('a quick service without a load balancer: a 2-minute no-progress bound, polled every 15 s', () => {
    expect(planWait({ expectedStartSeconds: 30, lastDeploymentSeconds: 30 })).toMatchObject({ checkEverySeconds: 15, stallSeconds: 120, maxSeconds: 600 });
  });

  test('behind an ALB with a 960 s grace period and 300 s deregistration delay: 24 min without progress, polled every 2 min, 45 min at most', () => {
    expect(planWait({ expectedStartSeconds: 30, healthCheckGracePeriodSeconds: 960, deregistrationDelaySeconds: 300, targetHealthySeconds: 150 })).toMatchObject({
      checkEverySeconds: 120,
      stallSeconds: 1440,
      maxSeconds: 2700,
    });
  });

  test('the default 300 s deregistration delay alone stretches the bound past it', () => {
    expect(planWait({ expectedStartSeconds: 30, deregistrationDelaySeconds: 300 }).stallSeconds).toBeGreaterThan(300);
  });
});

describe('judging a reading', () => {
  const plan = planWait({ expectedStartSeconds: 30 });
  const t0 = Date.parse('2026-11-28T03:00:00Z');
  const progress = { sinceMs: t0, lastProgressMs: t0 };

  test('the circuit breaker\'s FAILED ends the wait at once, with its reason', () => {
    const j = judge(reading({ change: { deploymentId: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', failedTasks: 3 } }), plan, progress, t0 + 5_000);
    expect(j).toEqual({ verdict: 'failed', reason: 'ECS failed deployment ecs-svc/1: ECS deployment circuit breaker: tasks failed to start.' });
  });

  test('a deployment replaced before it completed (rolled back) is a failure, not a success', () => {
    expect(judge(reading({ change: { deploymentId: 'ecs-svc/1', status: 'ACTIVE', failedTasks: 0 } }), plan, progress, t0).verdict).toBe('failed');
  });

  test('a new deployment failing task after task is given up on; one failure is not', () => {
    const change = (failedTasks: number) => reading({ change: { deploymentId: 'ecs-svc/1', status: 'PRIMARY', rolloutState: 'IN_PROGRESS', failedTasks } });
    expect(judge(change(4), plan, progress, t0).verdict).toBe('failed');
    expect(judge(change(1), plan, progress, t0).verdict).toBe('waiting');
  });

  test('no progress for the bound: stalled; progress keeps the wait alive until the time bound', () => {
    expect(judge(reading(), plan, progress, t0 + plan.stallSeconds * 1000).verdict).toBe('stalled');
    const moving = { sinceMs: t0, lastProgressMs: t0 + (plan.maxSeconds - 10) * 1000 };
    expect(judge(reading(), plan, moving, t0 + (plan.maxSeconds - 5) * 1000).verdict).toBe('waiting');
    expect(judge(reading(), plan, moving, t0 + plan.maxSeconds * 1000).verdict).toBe('exhausted');
  });
});

describe('an event that arrives before the wait stored its token', () => {
  test('finds nothing to release; the wait\'s own first look, after storing its token, ends it', async () => {
    await withSandbox({}, async (sandbox) => {
      const clients = sandbox.clientOptions();
      const deps = {
        ecs: ecsClient(clients),
        elbv2: elbv2Client(clients),
        sfn: sfnClient(clients),
        watches: new WatchStore(documentClient(clients), 'incident-flows-stability-watches'),
        clock: sandbox.clock,
        log: silentLogger,
      };
      const serviceArn = 'arn:aws:ecs:us-east-1:123456789012:service/acme-cluster/acme-axon';
      const early = await onEcsEvent({ 'detail-type': 'ECS Service Action', resources: [serviceArn], detail: { eventName: 'SERVICE_STEADY_STATE' } }, deps);
      expect(early).toEqual({ outcome: 'handled', service: 'acme-cluster/acme-axon', watches: 0, released: 0 });

      // A wait step alone, with no safety-net timeout: only its first look can end it.
      sandbox.sfn.addDefinition('wait-only', {
        StartAt: 'Wait until the restart is stable',
        States: {
          'Wait until the restart is stable': {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: {
              FunctionName: 'watch-stability',
              Payload: {
                incident: { service: 'acme-axon', cluster: 'acme-cluster', logGroup: '/ecs/acme-axon', restartMode: 'force-new-deployment', lookbackMinutes: 60, expectedStartSeconds: 30, dryRun: false },
                change: { startedAt: sandbox.clock.now().toISOString(), goal: 'serving', wait: { checkEverySeconds: 15, stallSeconds: 120, maxSeconds: 600 } },
                watch: 'restart',
                'execution.$': '$$.Execution.Id',
                'taskToken.$': '$$.Task.Token',
              },
            },
            TimeoutSeconds: 3600,
            End: true,
          },
        },
      });
      const arn = sandbox.sfn.start('wait-only');
      const done = await sandbox.sfn.wait(arn);
      expect(done.status).toBe('SUCCEEDED');
      expect(JSON.parse(done.output!)).toMatchObject({ verdict: 'stable', noticedBy: 'poll', polls: 1 });
      expect(await deps.watches.forService('acme-cluster/acme-axon')).toEqual([]);
    });
  });

  test('an event that is not an ECS service event is ignored with a reason, never an error', async () => {
    const result = await onEcsEvent({ 'detail-type': 'ECS Service Action', resources: ['arn:aws:ecs:us-east-1:123456789012:cluster/acme-cluster'], detail: { eventName: 'X' } }, {
      ecs: ecsClient(),
      elbv2: elbv2Client(),
      sfn: sfnClient(),
      watches: new WatchStore(documentClient(), 'unused'),
      clock: { now: () => new Date() },
      log: silentLogger,
    });
    expect(result).toEqual({ outcome: 'ignored', reason: 'resource arn:aws:ecs:us-east-1:123456789012:cluster/acme-cluster is not an ECS service ARN' });
  });
});
