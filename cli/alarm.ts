import { parseArgs } from 'node:util';
import { SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { cloudWatchClient } from '#commons/clients';
import { CliUsageError, clientOptionsFrom, CONNECTION_OPTIONS, oneLine } from './start.ts';

export const STATES = ['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const;
export type AlarmState = (typeof STATES)[number];

/** `alarm --json`: what was set. `handedToStartIncident`: ALARM goes on to start-incident through EventBridge. */
export interface AlarmResult {
  alarmName: string;
  state: AlarmState;
  reason: string;
  handedToStartIncident: boolean;
}

/**
 * `incident-flows alarm <name>`: `aws cloudwatch set-alarm-state`, the usual way to test an alarm's
 * wiring. On AWS the state change reaches start-incident through the EventBridge rule; against a
 * running sandbox (`--endpoint URL`) the same path is emulated, so a rehearsal starts like a page.
 */
export async function alarmCommand(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CONNECTION_OPTIONS, state: { type: 'string', default: 'ALARM' }, reason: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const alarmName = positionals[0];
  if (!alarmName || positionals.length > 1) {
    throw new CliUsageError(
      `${positionals.length > 1 ? `unexpected argument "${oneLine(String(positionals[1])).slice(0, 60)}"; ` : ''}usage: incident-flows alarm <alarm-name> [--state ALARM|OK|INSUFFICIENT_DATA] [--reason TEXT] [--json] [--endpoint URL]`,
    );
  }
  // CloudWatch's own limits (SetAlarmState): AlarmName 1-255 characters, StateReason up to 1023.
  if (alarmName.length > 255) throw new CliUsageError(`alarm name of ${alarmName.length} characters: CloudWatch alarm names have at most 255`);
  if (values.reason !== undefined && (values.reason.length === 0 || values.reason.length > 1023)) {
    throw new CliUsageError(`--reason of ${values.reason.length} characters: CloudWatch takes a state reason of 1 to 1023`);
  }
  const state = values.state.toUpperCase();
  if (!(STATES as readonly string[]).includes(state)) throw new CliUsageError(`--state "${oneLine(values.state).slice(0, 40)}": use one of ${STATES.join(', ')}`);
  const reason = values.reason ?? `incident-flows alarm: set to ${state} by hand to test the alarm's wiring`;
  await cloudWatchClient(clientOptionsFrom(values)).send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: state as AlarmState, StateReason: reason }));
  if (values.json) {
    const result: AlarmResult = { alarmName, state: state as AlarmState, reason, handedToStartIncident: state === 'ALARM' };
    out(`${JSON.stringify(result, null, 2)}\n`);
  } else out(`alarm ${alarmName} → ${state}${state === 'ALARM' ? '; EventBridge hands it to start-incident — follow it with `incident-flows list` / `status`' : ''}\n`);
  return 0;
}
