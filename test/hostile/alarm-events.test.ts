import { beforeAll, describe } from 'vitest';
import { ALARM_CASES, runAlarmEvents } from '../../bench/hostile/alarm-events.ts';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { afterwards, byCase, eachInput } from './support.ts';

describe('a hostile alarm event reaching start-incident is ignored with a logged reason, and starts, locks and records nothing', () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runAlarmEvents({ cases: ALARM_CASES }));
  });
  eachInput(ALARM_CASES.map((c) => c.name), () => outcomes);
  afterwards(() => outcomes);
});
