import { beforeAll, describe, expect, test } from 'vitest';
import type { Outcome } from '../../bench/hostile/harness.ts';
import { runSlack, SLACK_CASES, type FuzzReport } from '../../bench/hostile/slack.ts';
import { afterwards, byCase, eachInput } from './support.ts';

describe('a hostile request to the Slack approval callback is refused with {ok: false, code} and a 4xx, and decides nothing', () => {
  let outcomes = new Map<string, Outcome>();
  let fuzz: FuzzReport;
  beforeAll(async () => {
    const report = await runSlack({ cases: SLACK_CASES, fuzz: 400, seed: 8 });
    outcomes = byCase(report);
    fuzz = report.fuzz;
  });
  eachInput(SLACK_CASES.map((c) => c.name), () => outcomes);

  test('400 forged or mutated clicks (half before the real click, half after): none accepted, the approval decided once, by the real click', () => {
    expect(fuzz.requests).toBe(400);
    expect({ accepted: fuzz.accepted, doubleDecisions: fuzz.doubleDecisions, examples: fuzz.acceptedExamples }).toEqual({ accepted: 0, doubleDecisions: 0, examples: [] });
    expect(Object.keys(fuzz.statuses).every((s) => s === '200' || Number(s) >= 400)).toBe(true);
    // 200 only for Slack's own retries of the accepted click (X-Slack-Retry-Num): already recorded, nothing new.
    expect(fuzz.statuses['200'] ?? 0).toBe(fuzz.acknowledgedRetries);
    expect(fuzz.decidedBy).toMatch(/^approved by ona\.oncall \(before the click: pending; the valid click answered 200 approved\)$/);
  });
  afterwards(() => outcomes);
});
