import { expect, test } from 'vitest';
import type { EntryReport, Outcome } from '../../bench/hostile/harness.ts';

/**
 * Hostile inputs that still break a promise because of a defect in code another change owns
 * (reported in issue 8's hostile-input findings). Each is `test.fails`: it passes while the defect
 * is there and fails the day it is fixed — then delete its line here.
 */
export const KNOWN_DEFECTS: Record<string, string> = {
  'tags with an unknown severity': 'handlers/commons/alarms.ts routeByTags takes a severity tag that is not P0/P1/P2 as P0 and starts P0',
  'inspect-changes: lookbackMinutes 1e15': 'handlers/commons/schemas.ts incidentSchema.lookbackMinutes is unbounded: the window reaches CloudTrail as an invalid date',
  'inspect-changes: lookbackMinutes negative': 'handlers/commons/schemas.ts incidentSchema.lookbackMinutes is unbounded: a window ending in the future reaches CloudTrail',
  'review-logs: lookbackMinutes 1e15': 'handlers/commons/schemas.ts incidentSchema.lookbackMinutes is unbounded: review-logs throws RangeError "Invalid time value"',
  'review-logs: lookbackMinutes negative': 'handlers/commons/schemas.ts incidentSchema.lookbackMinutes is unbounded: review-logs reads the future and reports 0 errors',
  'restart-service: an unknown cluster': 'handlers/restart-service.ts takes the service lock before it has read the service: a bad cluster (or a made-up execution) leaves acme-axon locked',
  'watch-stability: an unmanaged, non-existent service': 'handlers/watch-stability.ts stores the watch (and its token) before reading the service',
  'verify: a health URL on an unconfigured host': 'handlers/verify.ts fetches incident.healthUrl without the configured-origin check resolveIncident makes',
  'verify: a health URL with credentials on an unconfigured host': 'handlers/verify.ts fetches incident.healthUrl without the configured-origin check resolveIncident makes',
  'verify: a file URL': 'handlers/verify.ts fetches incident.healthUrl without the configured-origin check resolveIncident makes',
  'request-approval: an unmanaged service': 'handlers/request-approval.ts asks people in Slack about a service incident-flows does not manage',
  'request-approval: evidence with Slack markup and 100 KB': 'handlers/request-approval.ts accepts an execution that is not an execution ARN and asks people in Slack',
  'slack-interactions: null': 'handlers/slack-interactions.ts requestFromHttpApi throws TypeError on an event that is not an HTTP API event',
  'slack-interactions: body a number': 'handlers/slack-interactions.ts requestFromHttpApi throws TypeError on a body that is not a string',
  'slack-interactions: body an object': 'handlers/slack-interactions.ts requestFromHttpApi throws TypeError on a body that is not a string',
  'a body that is null': 'sandbox/http.ts answers a JSON body of null with a 500 "sandbox error: Cannot read properties of null"',
  'UpdateService to desired count 1e9': "sandbox/ecs.ts accepts a billion desired tasks (AWS caps a service at 5,000); the next clock advance blocks the sandbox",
  'UpdateService with forceNewDeployment "yes"': 'sandbox/ecs.ts takes forceNewDeployment "yes" (a string) as true',
  'FilterLogEvents with a 10 KB filter pattern': 'sandbox/logs.ts accepts a filter pattern over the 1,024 characters CloudWatch Logs allows',
  'FilterLogEvents from 1e20': 'sandbox/logs.ts accepts a startTime past what CloudWatch Logs takes',
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
