import { beforeAll, describe } from 'vitest';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { runScenarioFiles, SCENARIO_CASES } from '../../bench/hostile/scenario-files.ts';
import { byCase, eachInput } from './support.ts';

/** Every file in-process; through the real CLI only the CI-marked ones (a process each). */
const CASES = SCENARIO_CASES.map((c) => ({ ...c, cli: c.ci === true }));

describe('a hostile scenario file is refused with a ScenarioError naming the file or the field, before any sandbox boots, in seconds', () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runScenarioFiles({ cases: CASES }));
  });
  eachInput(
    [...CASES.map((c) => `${c.name} (drill and sandbox)`), ...CASES.filter((c) => c.cli).map((c) => `${c.name} (incident-flows drill p0 --scenario)`)],
    () => outcomes,
  );
});
