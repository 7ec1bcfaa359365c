import { expect, test } from 'vitest';
import { runP0, withSandbox } from '../support/p0.ts';
import { AXON, CLUSTER, likeAws, minutesAgo, throttles, writeLogs } from './support.ts';

test('P0 in a busy account with a large, mostly quiet log group: the investigation names the guilty deploy and counts every ERROR line through empty pages, within its states\' timeouts, nothing throttled', async () => {
  await withSandbox({ cloudTrail: [{ eventName: 'UpdateService', service: AXON, minutesAgo: 40, username: 'deploy-bot' }] }, async (sandbox) => {
    likeAws(sandbox);
    sandbox.trail.simulateBusyAccount({
      cluster: CLUSTER,
      from: minutesAgo(sandbox, 39),
      to: minutesAgo(sandbox, 0),
      reads: 5000,
      changes: 200,
      others: [{ cluster: CLUSTER, service: 'acme-orbit' }, { cluster: 'staging-cluster', service: AXON }],
    });
    // 120,000 lines in the hour; ERROR lines only in the last 10 minutes, so the older pages come back empty.
    const recentFrom = minutesAgo(sandbox, 10).getTime();
    const errors = writeLogs(sandbox, {
      from: minutesAgo(sandbox, 60),
      to: minutesAgo(sandbox, 0),
      lines: 120_000,
      errorAt: (i, t) => (i % 500 === 0 && t >= recentFrom ? 'ERROR upstream connect error or disconnect/reset before headers' : undefined),
    });

    const run = await runP0(sandbox, { service: AXON });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('Note that recent changes are unavailable');
    expect(run.path).not.toContain('Note that error logs are unavailable');
    const { changes, logs } = run.output.investigation;
    expect(changes.suspect).toMatch(/^UpdateService by deploy-bot at 2026-11-28T02:20:00\.000Z/);
    expect(changes.changes).toHaveLength(1);
    expect(logs).toMatchObject({ available: true, truncated: false, count: errors.length, throttled: 0 });
    expect(logs.emptyPages).toBeGreaterThan(0);
    expect(throttles(sandbox, 'cloudtrail')).toBe(0);
    expect(throttles(sandbox, 'logs')).toBe(0);
    const timedOut = run.history.filter((e) => e.type === 'LambdaFunctionTimedOut' || e.type === 'TaskTimedOut');
    expect(timedOut).toEqual([]);
  });
});
