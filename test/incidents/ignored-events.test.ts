import { describe, expect, test } from 'vitest';
import { executions, withIncidents } from './support.ts';

const alarm = (detail: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2026-11-28T03:03:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:acme-axon-unhealthy-hosts'],
  detail: { alarmName: 'acme-axon-unhealthy-hosts', state: { value: 'ALARM', reason: 'Threshold Crossed' }, previousState: { value: 'OK' }, ...detail },
  ...extra,
});

/** Each case: the event, and what the log line must say about why nothing started. */
const CASES: [string, unknown, RegExp][] = [
  ['another detail-type', alarm({}, { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2' }), /detail-type is "EC2 Instance State-change Notification"/],
  ['no detail-type at all', { hello: 'world' }, /detail-type is null/],
  ['missing alarm name', alarm({ alarmName: undefined }), /no detail\.alarmName/],
  ['empty alarm name', alarm({ alarmName: '' }), /no detail\.alarmName/],
  ['alarm back to OK', alarm({ state: { value: 'OK' } }), /went to OK, not ALARM/],
  ['alarm in INSUFFICIENT_DATA', alarm({ state: { value: 'INSUFFICIENT_DATA' } }), /went to INSUFFICIENT_DATA, not ALARM/],
  ['unmapped alarm', alarm({ alarmName: 'billing-estimated-charges' }), /alarm billing-estimated-charges maps to no service/],
  ['missing state', alarm({ state: undefined }), /malformed alarm event: field "detail\.state"/],
  ['bad time', alarm({}, { time: 'yesterday' }), /field "time" is not a timestamp/],
  ['oversized event', alarm({ configuration: { description: 'x'.repeat(300 * 1024) } }), /over the 262144-byte EventBridge limit/],
  ['non-JSON body', '{"detail-type": "CloudWatch Alarm State Change", detail: oops', /not JSON/],
  ['a JSON array', [alarm({})], /not a JSON object/],
  ['null', null, /not a JSON object/],
];

describe('malformed or irrelevant events: no execution, and a log line naming why', () => {
  test.each(CASES)('%s', async (_name, event, why) => {
    await withIncidents({}, async (sandbox, eventBridge) => {
      const result = await eventBridge.deliverToStartIncident(event);
      expect(result.outcome).toBe('ignored');
      expect(executions(sandbox)).toHaveLength(0);
      const line = eventBridge.logs.find((l) => l.handler === 'start-incident' && l.message.startsWith('event ignored'));
      expect(line?.data.reason).toMatch(why);
    });
  });
});
