import { beforeAll, describe } from 'vitest';
import { CLI_CASES, runCliArguments } from '../../bench/hostile/cli.ts';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { byCase, eachInput } from './support.ts';

/** A process each: the representative few (bench:hostile runs them all). */
const CASES = CLI_CASES.filter((c) => c.ci);

describe('a hostile command line exits 2 (bad usage) or 1 (AWS said no) with one "incident-flows: …" line, never a stack trace or a hang, and changes nothing', () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runCliArguments({ cases: CASES, parallel: 4 }));
  }, 120_000);
  eachInput(CASES.map((c) => c.name), () => outcomes);
});
