import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, test } from 'vitest';
import { AWS_CLOUDTRAIL, busyAccountTraffic } from '#sandbox/cloudtrail';
import { AWS_LOGS } from '#sandbox/logs';
import { AXON, bootFleet, CLUSTER } from '../support/fleet.ts';

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}: ${e.message}`,
  );

describe('the sandbox is no kinder than AWS to evidence gathering', () => {
  test('CloudTrail answers ThrottlingException "Rate exceeded" past 2 LookupEvents in one second of sandbox time, and answers again once the second has passed', async () => {
    const sb = await bootFleet();
    sb.trail.setBehaviour(AWS_CLOUDTRAIL);
    const lookup = () => outcome(sb.cloudtrail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateService' }] })));

    expect([await lookup(), await lookup(), await lookup()]).toEqual(['ok', 'ok', 'ThrottlingException/400: Rate exceeded']);
    sb.clock.advance(0.5);
    expect(await lookup()).toBe('ThrottlingException/400: Rate exceeded');
    sb.clock.advance(0.5);
    expect(await lookup()).toBe('ok');
    sb.clock.advance(0.5);
    expect(await lookup()).toBe('ok');
    expect(sb.trail.lookups).toEqual({ answered: 4, throttled: 2 });
  });

  test('CloudTrail delivers an event about 5 minutes after the call; history older than that is there at once', async () => {
    const sb = await bootFleet({ cloudTrail: [{ eventName: 'UpdateService', service: AXON, minutesAgo: 30 }] });
    sb.trail.setBehaviour(AWS_CLOUDTRAIL);
    await sb.update({ forceNewDeployment: true });
    const updates = async () => {
      const out = await sb.cloudtrail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateService' }] }));
      return (out.Events ?? []).map((e) => e.Username);
    };

    expect(await updates()).toEqual(['deploy-bot']);
    sb.clock.advance(299);
    expect(await updates()).toEqual(['deploy-bot']);
    sb.clock.advance(1);
    expect(await updates()).toEqual(['incident-flows', 'deploy-bot']);
  });

  test('a busy account: thousands of reads and other services\' changes, evenly spread, same every time', () => {
    const opts = {
      cluster: CLUSTER,
      from: new Date('2026-11-28T02:00:00Z'),
      to: new Date('2026-11-28T03:00:00Z'),
      reads: 3000,
      changes: 100,
      others: [{ cluster: CLUSTER, service: 'acme-orbit' }, { cluster: 'staging-cluster', service: AXON }],
      region: 'us-east-1',
      accountId: '123456789012',
    };
    const traffic = busyAccountTraffic(opts);

    expect(traffic).toHaveLength(3100);
    expect(traffic.filter((e) => e.readOnly)).toHaveLength(3000);
    expect(traffic.filter((e) => e.eventName === 'UpdateService')).toHaveLength(80);
    expect(traffic.filter((e) => e.eventName === 'RegisterTaskDefinition')).toHaveLength(20);
    expect(traffic.at(0)!.eventTime).toEqual(opts.from);
    expect(traffic.at(-1)!.eventTime).toEqual(opts.to);
    // Both halves of the hour have changes: they are interleaved, not bunched.
    const firstHalf = traffic.filter((e) => !e.readOnly && e.eventTime!.getTime() < Date.parse('2026-11-28T02:30:00Z'));
    expect(firstHalf.length).toBeGreaterThanOrEqual(45);
    expect(firstHalf.length).toBeLessThanOrEqual(55);
    expect(new Set(traffic.filter((e) => e.eventName === 'UpdateService').map((e) => typeof e.requestParameters.cluster === 'string' && e.requestParameters.cluster.startsWith('arn:')))).toEqual(new Set([true, false]));
    expect(busyAccountTraffic(opts)).toEqual(traffic);
  });

  test('FilterLogEvents answers ThrottlingException past 5 calls in one second; a sparse pattern over a large group comes back in empty pages with a nextToken, every match found once', async () => {
    const sb = await bootFleet();
    sb.logs.setBehaviour(AWS_LOGS);
    const group = '/ecs/busy';
    const start = sb.clock.nowMs();
    for (let i = 0; i < 25_000; i += 1) sb.logs.write(group, `ecs/busy/t${i % 7}`, start - 25_000 + i, i % 5000 === 4999 ? `ERROR boom ${i}` : 'INFO ok');
    const filter = (nextToken?: string) => sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: 'ERROR', nextToken }));

    const burst = await Promise.all(Array.from({ length: 6 }, () => outcome(filter())));
    expect(burst.filter((o) => o === 'ok')).toHaveLength(5);
    expect(burst.filter((o) => o === 'ThrottlingException/400: Rate exceeded')).toHaveLength(1);

    sb.clock.advance(1);
    const pages: { events: number; token: boolean }[] = [];
    const found: string[] = [];
    let token: string | undefined;
    do {
      const out = await filter(token);
      pages.push({ events: out.events!.length, token: out.nextToken !== undefined });
      found.push(...out.events!.map((e) => e.message!));
      token = out.nextToken;
      sb.clock.advance(0.25);
    } while (token);

    // 10,000 events searched per call: 25,000 lines take three calls; the ERROR lines sit at 4,999, 9,999, …
    expect(pages).toEqual([
      { events: 2, token: true },
      { events: 2, token: true },
      { events: 1, token: false },
    ]);
    expect(found).toEqual(['ERROR boom 4999', 'ERROR boom 9999', 'ERROR boom 14999', 'ERROR boom 19999', 'ERROR boom 24999']);

    // A pattern nothing matches: the first 10,000 lines searched give an empty page, with a nextToken.
    sb.clock.advance(1);
    const empty = await sb.cwlogs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: 'NOTHING' }));
    expect(empty.events).toEqual([]);
    expect(empty.nextToken).toBeDefined();
    expect(sb.logs.filters.emptyWithToken).toBeGreaterThanOrEqual(1);
  });
});
