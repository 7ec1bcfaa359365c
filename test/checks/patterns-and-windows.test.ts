import { describe, expect, test } from 'vitest';
import { patternOf, PatternTally } from '../../handlers/logs/patterns.ts';
import { maintenanceWindowSchema, nextWindow } from '../../handlers/maintenance/window.ts';

describe('WARN lines grouped by message pattern', () => {
  test.each([
    ['WARN Slow response: 1840 ms (request 3f2b8c1e-9a4d-4e2b-8c1f-0a9b8c7d6e5f)', 'WARN Slow response: <n> ms (request <uuid>)'],
    ['WARN pool at 2026-11-28T02:41:07.123Z is 80% used', 'WARN pool at <time> is <n>% used'],
    ['WARN Upstream 10.0.3.12:8080 answered 429', 'WARN Upstream <ip> answered <n>'],
    ['WARN task 4c1e0f9a2b3d4e5f6a7b8c9d0e1f2a3b slow', 'WARN task <id> slow'],
    ['WARN policy pol-7f3a9 retried', 'WARN policy <id> retried'],
    ['WARN cache miss ratio 0.42', 'WARN cache miss ratio <n>'],
  ])('%s → %s', (line, pattern) => expect(patternOf(line)).toBe(pattern));

  test('counts, first and last seen per pattern; the most frequent first; a bounded number of groups', () => {
    const tally = new PatternTally(2);
    tally.add([
      { timestamp: 3000, message: 'WARN slow 12 ms' },
      { timestamp: 1000, message: 'WARN slow 900 ms' },
      { timestamp: 2000, message: 'WARN retry 2' },
      { timestamp: 4000, message: 'WARN something else entirely' },
    ]);
    expect(tally.count).toBe(4);
    expect(tally.ungrouped).toBe(1);
    expect(tally.top(5)).toEqual([
      { pattern: 'WARN slow <n> ms', count: 2, firstAt: new Date(1000).toISOString(), lastAt: new Date(3000).toISOString(), sample: 'WARN slow 12 ms' },
      { pattern: 'WARN retry <n>', count: 1, firstAt: new Date(2000).toISOString(), lastAt: new Date(2000).toISOString(), sample: 'WARN retry 2' },
    ]);
  });
});

describe('the next maintenance window', () => {
  const w = maintenanceWindowSchema.parse({});
  test('default: Sunday 02:00–04:00 UTC, the next one after now', () => {
    expect(nextWindow(new Date('2026-11-28T03:03:00Z'), w)).toEqual({ start: '2026-11-29T02:00:00.000Z', end: '2026-11-29T04:00:00.000Z', label: 'Sunday 2026-11-29 02:00–04:00 UTC' });
  });
  test('a window under way is not offered: the fix goes to the next week\'s', () => {
    expect(nextWindow(new Date('2026-11-29T02:30:00Z'), w).start).toBe('2026-12-06T02:00:00.000Z');
  });
  test('a configured day and time, across a month end', () => {
    expect(nextWindow(new Date('2026-11-30T12:00:00Z'), maintenanceWindowSchema.parse({ day: 'wednesday', startUtc: '22:30', durationMinutes: 90 }))).toMatchObject({
      start: '2026-12-02T22:30:00.000Z',
      end: '2026-12-03T00:00:00.000Z',
    });
  });
  test('a bad window is refused naming the field', () => {
    expect(maintenanceWindowSchema.safeParse({ startUtc: '25:00' }).success).toBe(false);
    expect(maintenanceWindowSchema.safeParse({ durationMinutes: 5 }).success).toBe(false);
  });
});
