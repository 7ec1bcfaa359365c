import { type CloudTrailClient, LookupEventsCommand, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, test } from 'vitest';
import { cloudTrailClient, ecsClient } from '#commons/clients';
import type { TrailEvent } from '#sandbox/cloudtrail';
import { inspectChanges } from '../../handlers/inspect-changes.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { withSandbox } from '../support/p0.ts';
import { AXON, CLUSTER, axonIncident, likeAws, minutesAgo, throttles } from './support.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const arn = (resource: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${resource}`;

/** The runbook's system with deploy-bot's guilty UpdateService of acme-axon 40 minutes before the alarm. */
const GUILTY_DEPLOY = { cloudTrail: [{ eventName: 'UpdateService', service: AXON, minutesAgo: 40, username: 'deploy-bot' }] };

/** Every service the busy account changes besides ours: a sibling in our cluster, acme-axon in staging, another team's. */
const OTHERS = [
  { cluster: CLUSTER, service: 'acme-orbit' },
  { cluster: 'staging-cluster', service: AXON },
  { cluster: CLUSTER, service: 'acme-ledger' },
];

function guiltyEvent(sandbox: Sandbox): TrailEvent {
  const e = sandbox.trail.events().find((x) => x.username === 'deploy-bot' && x.eventName === 'UpdateService' && x.requestParameters.cluster === CLUSTER && x.requestParameters.service === AXON);
  if (!e) throw new Error('the scenario seeds the guilty UpdateService');
  return e;
}

/** The old lookup: the newest ECS events, filtered only by event source. */
function byEventSource(client: CloudTrailClient, since: Date, token: string | undefined): Promise<LookupEventsCommandOutput> {
  return client.send(new LookupEventsCommand({ StartTime: since, LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'ecs.amazonaws.com' }], MaxResults: 50, NextToken: token }));
}

/** The most LookupEvents calls the sandbox answered within any one second, from its call log. */
function busiestSecond(sandbox: Sandbox, from: number): number {
  const times = sandbox.calls.slice(from).filter((c) => c.operation === 'LookupEvents').map((c) => Date.parse(c.at));
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
}

function inspect(sandbox: Sandbox, clientOptions = sandbox.clientOptions()) {
  return inspectChanges({ incident: axonIncident() }, { ecs: ecsClient(clientOptions), cloudtrail: cloudTrailClient(clientOptions), clock: sandbox.clock });
}

/**
 * After the guilty deploy: thousands of reads (dashboards, pollers, the workflows' own Describe*),
 * other services' UpdateService calls by deploys and autoscaling, and decoys that a lookup blind to
 * the cluster would take for ours — acme-axon in staging (cluster as an ARN), acme-axon with no
 * cluster (ECS's "default" cluster), a service ARN of another cluster — and a refused call on ours.
 */
function busyAccount(sandbox: Sandbox, opts: { reads: number; changes: number }): void {
  sandbox.trail.simulateBusyAccount({ cluster: CLUSTER, from: minutesAgo(sandbox, 39), to: minutesAgo(sandbox, 0), reads: opts.reads, changes: opts.changes, others: OTHERS });
  const update = (minutes: number, requestParameters: Record<string, unknown>, username: string) => ({
    eventName: 'UpdateService',
    username,
    eventSource: 'ecs.amazonaws.com',
    readOnly: false,
    resources: [{ resourceType: 'AWS::ECS::Service', resourceName: AXON }],
    requestParameters,
    eventTime: minutesAgo(sandbox, minutes),
  });
  sandbox.trail.seed([
    update(20, { cluster: arn('cluster/staging-cluster'), service: AXON, taskDefinition: 'acme-axon:99' }, 'staging-deploy'),
    update(15, { service: AXON, desiredCount: 0 }, 'someone-in-default'),
    update(12, { service: arn(`service/other-cluster/${AXON}`), forceNewDeployment: true }, 'other-team'),
    // Ours, but refused: a failed call changed nothing.
    { ...update(8, { cluster: CLUSTER, service: AXON, desiredCount: 0 }, 'intern'), errorCode: 'AccessDenied' },
    // Ours, named by ARNs, older than the guilty deploy: a change that counts, not the newest.
    update(45, { cluster: arn(`cluster/${CLUSTER}`), service: arn(`service/${CLUSTER}/${AXON}`), desiredCount: 2 }, 'autoscaling'),
  ]);
}

describe('inspect-changes finds the changes that matter in a busy account', () => {
  test('in a busy account it still names the guilty UpdateService of this service and cluster, and ignores the same-named service in other clusters', async () => {
    await withSandbox(GUILTY_DEPLOY, async (sandbox) => {
      likeAws(sandbox);
      busyAccount(sandbox, { reads: 5000, changes: 200 });
      const guilty = guiltyEvent(sandbox);
      const byArns = minutesAgo(sandbox, 45).toISOString();

      const found = await inspect(sandbox);

      expect(found.suspect).toBe(`UpdateService by deploy-bot at ${guilty.eventTime.toISOString()}: task definition → acme-axon:2`);
      expect(found.changes.map((c) => [c.by, c.at])).toEqual([
        ['deploy-bot', guilty.eventTime.toISOString()],
        ['autoscaling', byArns],
      ]);
      expect(found.changes.map((c) => c.by)).not.toContain('staging-deploy');
      // Busy: the newest 50 writes of the account were not all of them, so it looked change by change.
      expect(found.lookups[0]).toMatchObject({ lookup: 'ReadOnly=false', pages: 1, complete: false });
      expect(found.lookups.find((l) => l.lookup === 'EventName=UpdateService')).toMatchObject({ complete: true });
      expect(found.truncated).toBe(false);
      expect(found.notes.join('\n')).toMatch(/about 5 minutes late: a change after \d\d:\d\d may not be listed yet/);
    });
  });

  test('it paces LookupEvents under 2 requests/s on the sandbox clock and is never throttled, where the old back-to-back EventSource paging is, and misses the deploy', async () => {
    await withSandbox(GUILTY_DEPLOY, async (sandbox) => {
      likeAws(sandbox);
      busyAccount(sandbox, { reads: 5000, changes: 200 });
      const guilty = guiltyEvent(sandbox);

      // The old lookup: 5 × 50 events of ecs.amazonaws.com, back to back (SDK retries off, to count them).
      const old = cloudTrailClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
      const since = minutesAgo(sandbox, 60);
      const oldOutcomes: string[] = [];
      let token: string | undefined;
      for (let page = 0; page < 5; page += 1) {
        try {
          const out = await byEventSource(old, since, token);
          oldOutcomes.push('ok');
          token = out.NextToken;
        } catch (err) {
          oldOutcomes.push((err as Error).name);
        }
      }
      expect(oldOutcomes.filter((o) => o === 'ThrottlingException').length).toBeGreaterThan(0);
      expect(throttles(sandbox, 'cloudtrail')).toBe(sandbox.trail.lookups.throttled);

      // Even unthrottled (a second apart), its 250 newest events are the busy account's reads and others' changes.
      sandbox.clock.advance(1);
      const seen: string[] = [];
      token = undefined;
      for (let page = 0; page < 5; page += 1) {
        const out = await byEventSource(old, since, token);
        seen.push(...(out.Events ?? []).map((e) => e.EventId!));
        token = out.NextToken;
        sandbox.clock.advance(1);
      }
      expect(seen).toHaveLength(250);
      expect(seen).not.toContain(guilty.eventId);

      sandbox.clock.advance(1);
      const throttledBefore = sandbox.trail.lookups.throttled;
      const answeredBefore = sandbox.trail.lookups.answered;
      const logFrom = sandbox.calls.length;
      const started = sandbox.clock.nowMs();
      const found = await inspect(sandbox);
      const seconds = (sandbox.clock.nowMs() - started) / 1000;
      const calls = sandbox.trail.lookups.answered - answeredBefore;

      expect(sandbox.trail.lookups.throttled - throttledBefore).toBe(0);
      expect(found.throttled).toBe(0);
      expect(found.suspect).toContain('UpdateService by deploy-bot');
      expect(calls).toBe(found.calls);
      expect(calls).toBeGreaterThan(2);
      // Never more than 2 in a second of sandbox time: the pacing shows on the virtual clock.
      expect(busiestSecond(sandbox, logFrom)).toBeLessThanOrEqual(2);
      expect(seconds).toBeGreaterThanOrEqual((Math.ceil(calls / 2) - 1) * 1.2);
      expect(found.elapsedSeconds).toBeLessThanOrEqual(20);
    });
  });

  test('past its page budget it stops within its time budget and says more changes may exist, never throttled', async () => {
    await withSandbox(GUILTY_DEPLOY, async (sandbox) => {
      likeAws(sandbox);
      // 2,000 changes of other services after the deploy: 1,600 UpdateService calls, more than its pages hold.
      busyAccount(sandbox, { reads: 3000, changes: 2000 });
      const guilty = guiltyEvent(sandbox);

      const found = await inspect(sandbox);

      expect(found.truncated).toBe(true);
      const updates = found.lookups.find((l) => l.lookup === 'EventName=UpdateService')!;
      expect(updates.complete).toBe(false);
      expect(Date.parse(updates.readBackTo!)).toBeGreaterThan(guilty.eventTime.getTime());
      expect(found.notes.join('\n')).toMatch(/EventName=UpdateService: read the newest 500 events back to \d\d:\d\d; more changes may exist between \d\d:\d\d and \d\d:\d\d/);
      expect(found.throttled).toBe(0);
      expect(throttles(sandbox, 'cloudtrail')).toBe(0);
      expect(found.elapsedSeconds).toBeLessThanOrEqual(20);
    });
  });

  test('a change made in the last minutes is not in CloudTrail yet: it says so, names the deployment ECS already shows, and lists the change once delivered', async () => {
    await withSandbox(GUILTY_DEPLOY, async (sandbox) => {
      likeAws(sandbox);
      const ecs = ecsClient(sandbox.clientOptions());
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: AXON, forceNewDeployment: true }));

      const early = await inspect(sandbox);
      expect(early.changes.map((c) => c.by)).toEqual(['deploy-bot']);
      expect(early.notes.join('\n')).toMatch(/ECS started deployment \S+ at \d\d:\d\d; CloudTrail has not delivered the call behind it yet/);
      expect(early.deployments.find((d) => d.status === 'PRIMARY')).toBeDefined();

      sandbox.clock.advance(6 * 60);
      const later = await inspect(sandbox);
      expect(later.suspect).toMatch(/^UpdateService by incident-flows at .*: forced new deployment$/);
      expect(later.notes.join('\n')).not.toMatch(/has not delivered/);
    });
  });

  test('throttled by another caller of the account, it backs off on the clock and still names the guilty deploy', async () => {
    await withSandbox({ ...GUILTY_DEPLOY, faults: [{ api: 'cloudtrail', kind: 'throttle', rate: 1, maxFailures: 2 }] }, async (sandbox) => {
      likeAws(sandbox);
      const started = sandbox.clock.nowMs();
      const found = await inspect(sandbox, { ...sandbox.clientOptions(), maxAttempts: 1 });

      expect(found.throttled).toBe(2);
      expect(found.suspect).toContain('UpdateService by deploy-bot');
      expect(found.truncated).toBe(false);
      // Backed off 0.5–1 s, then 1–2 s, on the sandbox clock.
      expect((sandbox.clock.nowMs() - started) / 1000).toBeGreaterThanOrEqual(1.5);
    });
  });
});
