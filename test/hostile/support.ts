import { expect, test } from 'vitest';
import type { EntryReport, Outcome } from '../../bench/hostile/harness.ts';

/**
 * Hostile inputs that still break a promise because of a defect in code another change owns
 * (reported in issue 8's hostile-input findings). Each is `test.fails`: it passes while the defect
 * is there and fails the day it is fixed — then delete its line here.
 */
export const KNOWN_DEFECTS: Record<string, string> = {
};

export function byCase(report: EntryReport): Map<string, Outcome> {
  return new Map(report.outcomes.map((o) => [o.case, o]));
}

/** What the promise asks of one input, as a readable diff when it fails. */
export function promiseKept(o: Outcome | undefined): void {
  expect(o, 'the input was not run').toBeDefined();
  expect({ clear: o!.clear, mutations: o!.mutations }, `${o!.verdict}${o!.name ? ` (${o!.name})` : ''}: ${o!.detail}`).toEqual({ clear: true, mutations: [] });
}

/** One test per input, named after it; a known defect is `test.fails` with where it lives. */
export function eachInput(names: string[], outcomes: () => Map<string, Outcome>): void {
  for (const name of names) {
    const defect = KNOWN_DEFECTS[name];
    if (defect) test.fails(`${name} — known defect: ${defect}`, () => promiseKept(outcomes().get(name)));
    else test(name, () => promiseKept(outcomes().get(name)));
  }
}

/** The checks a run appends about the sandbox itself ("afterwards: the clock still moves"). */
export function afterwards(outcomes: () => Map<string, Outcome>): void {
  test('afterwards the sandbox still answers and its virtual clock still moves', () => {
    const broken = [...outcomes().values()].filter((o) => o.case.startsWith('afterwards'));
    expect(broken.map((o) => `${o.case}: ${o.detail}`)).toEqual([]);
  });
}
