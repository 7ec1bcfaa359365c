import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, test } from 'vitest';
import { documentClient } from '#commons/clients';
import { slackOf } from '../../sandbox/slack.ts';
import { withSandbox } from '../support/p0.ts';
import { ecsChanges, runMachine } from './support.ts';

const FLOOD = { faults: [{ service: 'acme-axon', kind: 'warn-flood' as const, warnPerMinute: 10, warnSinceMinutes: 50 }] };

describe('P2 "Minor Issues": WARN lines grouped, a fix scheduled, nothing changed', () => {
  test('a WARN flood: patterns grouped with counts and first/last seen, the fix recorded on the incident for the next window, the summary in Slack', async () => {
    await withSandbox(FLOOD, async (sandbox) => {
      sandbox.playOut();
      const run = await runMachine(sandbox, 'p2-minor', { service: 'acme-axon', reason: 'WARN rate alarm' });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('scheduled-fix');
      expect(run.path).toEqual(['Assess impact', 'Analyse WARN logs', 'Any WARN lines?', 'Schedule the fix for the next maintenance window', 'Record: fix scheduled', 'Fix scheduled for the maintenance window']);

      const logs = run.output.investigation.logs;
      // 50 minutes of 10 a minute before the start, 3 more minutes of lead, plus the fleet's routine WARNs.
      expect(logs.count).toBeGreaterThanOrEqual(500);
      expect(logs.truncated).toBe(false);
      const patterns = logs.groups.map((g: { pattern: string }) => g.pattern);
      expect(patterns).toEqual(
        expect.arrayContaining([
          'WARN Slow response from governance Lambda: <n> ms (request <uuid>)',
          'WARN Retrying DynamoDB request for policy <id> after ProvisionedThroughputExceededException (attempt <n>)',
          'WARN Connection pool <n>% utilised (<n>/<n> connections) at <time>',
          'WARN Upstream <ip> answered <n>; backing off <n> ms',
        ]),
      );
      const slow = logs.groups[0];
      expect(slow.pattern).toMatch(/^WARN Slow response/);
      expect(slow.count).toBeGreaterThan(100);
      expect(Date.parse(slow.firstAt)).toBeLessThan(Date.parse(slow.lastAt));
      expect(Date.parse(slow.firstAt)).toBeGreaterThanOrEqual(Date.parse(logs.windowStart));
      expect(slow.sample).toMatch(/^WARN Slow response from governance Lambda: \d+ ms \(request [0-9a-f-]{36}\)$/);
      expect(logs.groups.reduce((n: number, g: { count: number }) => n + g.count, 0)).toBe(logs.count);

      // Saturday 03:03 UTC → the default window, Sunday 02:00–04:00 UTC.
      expect(run.output.scheduledFix.window).toMatchObject({ start: '2026-11-29T02:00:00.000Z', end: '2026-11-29T04:00:00.000Z' });
      const record = await documentClient(sandbox.clientOptions()).send(
        new GetCommand({ TableName: 'incident-flows-incidents', Key: { pk: `INCIDENT#${run.output.scheduledFix.incidentId}` } }),
      );
      expect(record.Item?.scheduledFix).toMatchObject({ service: 'acme-axon', warnings: logs.count, window: { label: 'Sunday 2026-11-29 02:00–04:00 UTC' } });
      expect(record.Item?.scheduledFix.what[0]).toMatch(/^×\d+ WARN Slow response/);

      const posted = slackOf(sandbox).messages;
      expect(posted).toHaveLength(1);
      expect(posted[0]!.text).toBe(`P2 acme-axon: ${logs.count} WARN line(s), fix scheduled for Sunday 2026-11-29 02:00–04:00 UTC`);
      expect(JSON.stringify(posted[0]!.blocks)).toContain('WARN Slow response from governance Lambda: &lt;n&gt; ms (request &lt;uuid&gt;)');

      // P2 changes nothing: no ECS change by any step, the service as it was.
      expect(ecsChanges(sandbox)).toEqual([]);
      expect(sandbox.trail.mutatingEvents()).toEqual([]);
      expect(sandbox.fleet.snapshot('acme-axon')).toMatchObject({ desiredCount: 2, runningCount: 2 });
    });
  });

  test('no WARN line in the last hour: no action, nothing posted, nothing changed', async () => {
    // The alarm fires at once: the fleet has written no routine line yet.
    await withSandbox({ leadSeconds: 0 }, async (sandbox) => {
      const run = await runMachine(sandbox, 'p2-minor', { service: 'acme-orbit' });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output.outcome).toBe('no-action');
      expect(run.output.investigation.logs).toMatchObject({ count: 0, groups: [] });
      expect(run.path).not.toContain('Schedule the fix for the next maintenance window');
      expect(slackOf(sandbox).messages).toEqual([]);
      expect(ecsChanges(sandbox)).toEqual([]);
    });
  });

  test('a WARN line written to ping the channel reaches Slack escaped', async () => {
    await withSandbox({ leadSeconds: 0 }, async (sandbox) => {
      const at = sandbox.clock.nowMs() - 60_000;
      sandbox.logs.write('/ecs/acme-axon', 'ecs/app/1', at, 'WARN <!channel> quota 90% used, see <https://evil.example|the console>');
      const run = await runMachine(sandbox, 'p2-minor', { service: 'acme-axon' });
      expect(run.output.outcome).toBe('scheduled-fix');
      const text = JSON.stringify(slackOf(sandbox).messages[0]!.blocks);
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<https://evil.example');
      expect(text).toContain('&lt;!channel&gt;');
    });
  });

  test.each([
    [{ service: 'acme-unknown' }, 'ServiceNotManagedError', /field "service": "acme-unknown" is not managed/],
    [{ service: 42 }, 'InvalidInputError', /field "service"/],
    [{ service: 'acme-axon', lookbackMinutes: 100000 }, 'InvalidInputError', /field "lookbackMinutes"/],
    [{ service: 'acme-axon', pattern: 'WARN' }, 'InvalidInputError', /unknown field "pattern"/],
  ])('bad start input %j fails at the first state naming the field, reading and changing nothing', async (input, error, message) => {
    await withSandbox({ leadSeconds: 0 }, async (sandbox) => {
      const run = await runMachine(sandbox, 'p2-minor', input);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(error);
      expect(run.message).toMatch(message);
      expect(run.path).toEqual(['Assess impact']);
      expect(sandbox.invocations.flatMap((i) => i.calls).filter((c) => !c.startsWith('ecs:Describe'))).toEqual([]);
      expect(slackOf(sandbox).messages).toEqual([]);
    });
  });
});
