import { beforeAll, describe } from 'vitest';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { HTTP_CASES, runSandboxHttp } from '../../bench/hostile/sandbox-http.ts';
import { afterwards, byCase, eachInput } from './support.ts';

describe("a hostile request to the sandbox's HTTP API gets an error in its own protocol (never a 5xx, a hang or a frozen clock) and changes nothing", () => {
  let outcomes = new Map<string, Outcome>();
  beforeAll(async () => {
    outcomes = byCase(await runSandboxHttp({ cases: HTTP_CASES }));
  });
  eachInput(HTTP_CASES.map((c) => c.name), () => outcomes);
  afterwards(() => outcomes);
});
