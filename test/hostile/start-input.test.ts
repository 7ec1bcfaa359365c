import { beforeAll, describe } from 'vitest';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { runStartInputs, START_CASES } from '../../bench/hostile/start-input.ts';
import { afterwards, byCase, eachInput } from './support.ts';

/** A representative third, plus the cases issue 8 names (depth, size, names, health URLs, the allow-list). */
const CASES = START_CASES.filter((c, i) => i % 3 === 0 || /deep|MB|execution name with path|proto|healthUrl the instance|not managed|unknown field/.test(c.name));

describe('a hostile console start input is refused by StartExecution or fails at "Assess impact" with a named error naming the field, and touches nothing', () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runStartInputs({ cases: CASES }));
  });
  eachInput(CASES.map((c) => c.name), () => outcomes);
  afterwards(() => outcomes);
});
