import { beforeAll, describe } from 'vitest';
import { HANDLER_CASES, runHandlerEvents } from '../../bench/hostile/handler-events.ts';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { afterwards, byCase, eachInput } from './support.ts';

/** Every hand-made case; of the garbage every handler gets, a representative five. */
const GARBAGE_IN_CI = new Set(['null', 'an empty object', 'incident empty', '__proto__ key', 'nested 1,000 deep']);
const GENERIC = new Set(['a number', 'a string', 'an array', 'incident null', 'incident a string', 'incident with path traversal', 'a 200 KB string', ...GARBAGE_IN_CI]);
const CASES = HANDLER_CASES.filter((c) => !GENERIC.has(c.name) || GARBAGE_IN_CI.has(c.name) || ['record-incident', 'ecs-events', 'slack-interactions'].includes(c.handler));

describe('a handler invoked directly with a hostile event fails with a named error (or ignores it, saying why) and changes nothing', () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runHandlerEvents({ cases: CASES }));
  });
  eachInput(CASES.map((c) => `${c.handler}: ${c.name}`), () => outcomes);
  afterwards(() => outcomes);
});
