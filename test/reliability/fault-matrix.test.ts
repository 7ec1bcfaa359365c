import { describe, expect, test } from 'vitest';
import {
  albRows,
  apiRows,
  drillRows,
  ecsEventRows,
  interruptRow,
  referenceRows,
  runRow,
  runStorm,
  type Row,
  type RunResult,
} from '../../bench/reliability-matrix.ts';

/**
 * A few representative rows of the reliability fault matrix (`npm run bench:reliability` runs them
 * all): each incident goes alarm → EventBridge → start-incident → P0 → record-incident, with the
 * reconciler given 10 simulated minutes, and is judged against the documented promises
 * (bench/reliability-matrix.ts): the right ending, the incident closed, the service at or above its
 * count from before the incident, and people paged whenever they must take over.
 */

const pick = (rows: Row[], id: string): Row => {
  const row = rows.find((r) => r.id === id);
  if (!row) throw new Error(`no matrix row ${id}`);
  return row;
};

/** What a failing row prints: enough to reproduce it. */
const explain = (r: RunResult) =>
  [`${r.id}: ${r.status} ${r.ending}`, ...r.problems, `path: ${r.path.join(' → ')}`, `scenario: ${JSON.stringify(r.repro.scenario)}`, `reproduce: ${r.repro.command}`].join('\n');

const [clears, , unclearable] = referenceRows() as [Row, Row, Row];
const rows: Row[] = [
  pick(drillRows([11]), 'drill/crash-loop/force/seed-11'),
  pick(drillRows([12]), 'drill/bad-image/scale0/seed-12'),
  pick(apiRows(), 'api/ecs-5xx-10%/scale0/seed-31'),
  pick(apiRows(), 'api/dynamodb-outage/force/after-0-fail-6'),
  pick(apiRows(), 'api/update-service-lost-response/scale0/scale-out'),
  // ECS refuses UpdateService for 40 calls after the scale-in: paged once, put back when ECS answers.
  pick(apiRows(), 'api/update-service-outage-after-scale-in/fail-40'),
  pick(ecsEventRows(), 'ecs-events/lose-all/scale0'),
  pick(albRows(), 'alb/crash-loop/grace-60/scale0'),
  // The worst case: stopped, or timed out, while the service is scaled in to zero.
  interruptRow(clears, { kind: 'stop', state: 'Wait until the scale-in is stable' }),
  interruptRow(clears, { kind: 'timeout', state: 'Scale the service back out' }, { lostEnd: true }),
  interruptRow(clears, { kind: 'stop', call: { operation: 'UpdateService', desiredCount: 0 } }, { label: 'scale-in', lostEnd: true }),
  interruptRow(unclearable, { kind: 'timeout', state: 'Restore the desired count' }),
];

describe('reliability fault matrix (CI subset)', () => {
  test.each(rows.map((r) => [r.id, r] as const))('%s', async (_id, row) => {
    const r = await runRow(row);
    expect(r.problems, explain(r)).toEqual([]);
    expect(r.notExercised, explain(r)).toBeUndefined();
    expect(r.right).toBe(true);
    expect(r.desiredAfter).toBeGreaterThanOrEqual(r.desiredBefore);
    if (row.interrupt) expect(r.pages.length, explain(r)).toBeGreaterThan(0);
    // One page per thing people must know, not one per retry.
    expect(r.pages.filter((p) => p.includes('could NOT be restored')).length, explain(r)).toBeLessThanOrEqual(1);
  });

  test('10 simultaneous incidents in one sandbox, half crash-looping: the right outcome each, one execution each, every count kept', async () => {
    const { results } = await runStorm({ services: 10, seed: 1010 });
    expect(results).toHaveLength(10);
    for (const r of results) expect(r.problems, explain(r)).toEqual([]);
    expect(results.map((r) => r.executions)).toEqual(Array(10).fill(1));
    expect(results.filter((r) => r.ending === 'recovered')).toHaveLength(5);
    expect(results.filter((r) => r.ending === 'no-action')).toHaveLength(5);
  });
});
