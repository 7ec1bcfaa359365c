import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, test } from 'vitest';
import { logsClient } from '#commons/clients';
import { reviewLogs } from '../../handlers/review-logs.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { withSandbox } from '../support/p0.ts';
import { GROUP, axonIncident, likeAws, minutesAgo, throttles, writeLogs } from './support.ts';

/** acme-axon alone, healthy (its tasks write nothing that matches ERROR): the test writes the log group. */
const QUIET = { services: [{ name: 'acme-axon' }] };

function review(sandbox: Sandbox, client = logsClient(sandbox.clientOptions())) {
  return reviewLogs({ incident: axonIncident(), pattern: 'ERROR' }, { logs: client, clock: sandbox.clock });
}

describe('review-logs stays within its Lambda timeout whatever the log volume', () => {
  test('over a huge log group it finishes within its budget, reports that it stopped early, and has read the newest lines first', async () => {
    await withSandbox(QUIET, async (sandbox) => {
      likeAws(sandbox);
      // 450,000 lines in the hour (125 a second); an ERROR every 1,000th, a new kind in the last 15 minutes.
      const recentFrom = minutesAgo(sandbox, 15).getTime();
      const errors = writeLogs(sandbox, {
        from: minutesAgo(sandbox, 60),
        to: minutesAgo(sandbox, 0),
        lines: 450_000,
        errorAt: (i, t) => (i % 1000 !== 999 ? undefined : t >= recentFrom ? `ERROR payment gateway timeout after ${3000 + (i % 7)} ms` : 'ERROR cache miss storm'),
      });
      const recent = errors.filter((e) => e.timeMs >= recentFrom);
      const end = sandbox.clock.nowMs();

      // Paging back to back, as before: past 5 calls in a second the account is throttled.
      const eager = logsClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => eager.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: 'ERROR', startTime: end - 3_600_000, endTime: end })).then(() => 'ok', (e: Error) => e.name)),
      );
      expect(outcomes.filter((o) => o === 'ThrottlingException')).toHaveLength(3);
      sandbox.clock.advance(1);
      const throttledBefore = throttles(sandbox, 'logs');

      const result = await review(sandbox);

      expect(result).toMatchObject({ available: true, truncated: true, stoppedBecause: 'page-limit', pages: 40, throttled: 0 });
      expect(result.elapsedSeconds).toBeLessThanOrEqual(20);
      expect(throttles(sandbox, 'logs')).toBe(throttledBefore);
      expect(result.note).toMatch(/^stopped after 40 pages \(the limit\): every ERROR line from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d was read, earlier ones only in part; \d+ is a lower bound$/);
      // Newest first: every error of the last 15 minutes is in, the older kind only in part.
      expect(Date.parse(result.readFrom!)).toBeLessThanOrEqual(recentFrom + 1_000);
      expect(result.count).toBeGreaterThanOrEqual(recent.length);
      expect(result.count).toBeLessThan(errors.length);
      expect(result.top).toContainEqual(expect.objectContaining({ message: 'ERROR payment gateway timeout after <n> ms', count: recent.length }));
    });
  });

  test('when each FilterLogEvents call takes 1.5 s (a large group on AWS) it stops at its 20 s budget, inside the 30 s Lambda timeout', async () => {
    await withSandbox(QUIET, async (sandbox) => {
      likeAws(sandbox);
      writeLogs(sandbox, { from: minutesAgo(sandbox, 60), to: minutesAgo(sandbox, 0), lines: 200_000, errorAt: (i) => (i % 500 === 0 ? `ERROR upstream reset (${i})` : undefined) });
      const slow = logsClient(sandbox.clientOptions());
      // Every answer costs 1.5 s of sandbox time, as a search through a large group does on AWS.
      slow.middlewareStack.add(
        (next) => async (args) => {
          const out = await next(args);
          sandbox.clock.advance(1.5);
          return out;
        },
        { step: 'initialize', name: 'slowFilterLogEvents' },
      );
      const started = sandbox.clock.nowMs();

      const result = await review(sandbox, slow);

      expect(result).toMatchObject({ truncated: true, stoppedBecause: 'time-budget', throttled: 0 });
      expect(result.pages).toBe(13);
      expect((sandbox.clock.nowMs() - started) / 1000).toBeLessThanOrEqual(20);
      expect(result.note).toMatch(/^stopped after 20 s \(time budget 20 s of the 30 s timeout\)/);
      expect(result.count).toBeGreaterThan(0);
    });
  });

  test('empty pages with a nextToken are followed to the ERROR lines after them', async () => {
    await withSandbox(QUIET, async (sandbox) => {
      likeAws(sandbox);
      // 45,000 INFO lines in the last 5 minutes, then 7 ERROR lines: the first pages find nothing
      // (one over the whole hour, which tells a large group from a quiet one, then four of the last 5 minutes;
      // the older slices, 5–15 and 15–60 minutes back, are empty and take one call each).
      const errors = writeLogs(sandbox, {
        from: minutesAgo(sandbox, 5),
        to: minutesAgo(sandbox, 0),
        lines: 45_007,
        errorAt: (i) => (i >= 45_000 ? `ERROR connection refused to db-${i % 3}:5432` : undefined),
      });
      expect(errors).toHaveLength(7);

      const result = await review(sandbox);

      expect(result).toMatchObject({ available: true, truncated: false, count: 7, pages: 8, emptyPages: 5, throttled: 0 });
      expect(result.note).toBeUndefined();
      expect(result.top[0]).toMatchObject({ message: 'ERROR connection refused to db-<n>:<n>', count: 7 });
      expect(sandbox.logs.filters.emptyWithToken).toBe(5);
      expect(throttles(sandbox, 'logs')).toBe(0);
    });
  });
});
