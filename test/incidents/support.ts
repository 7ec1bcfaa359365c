import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '#commons/clients';
import type { IncidentSettingsInput } from '#commons/incidents';
import { eventBridgeOf, type EventBridgeEmulator } from '../../sandbox/eventbridge.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import type { ScenarioInput } from '../../sandbox/scenario.ts';
import { withSandbox } from '../support/p0.ts';

/** A sandbox whose EventBridge emulation (alarm rule → start-incident, execution end → record-incident) is ready. */
export async function withIncidents<T>(
  scenario: ScenarioInput,
  body: (sandbox: Sandbox, eventBridge: EventBridgeEmulator) => Promise<T>,
  settings: Partial<IncidentSettingsInput> = {},
): Promise<T> {
  return withSandbox(scenario, async (sandbox) => {
    const eventBridge = eventBridgeOf(sandbox);
    eventBridge.configure(settings);
    // Simulated time passes only when the test says so (elapse, drain, a storm).
    eventBridge.holdClock();
    try {
      return await body(sandbox, eventBridge);
    } finally {
      eventBridge.releaseClock();
      await eventBridge.settled();
    }
  });
}

/** The start input an execution received, as Step Functions reports it. */
export async function startInputOf(sandbox: Sandbox, executionArn: string): Promise<Record<string, unknown>> {
  const d = await sfnClient(sandbox.clientOptions()).send(new DescribeExecutionCommand({ executionArn }));
  return JSON.parse(d.input ?? '{}') as Record<string, unknown>;
}

export function executions(sandbox: Sandbox) {
  return sandbox.sfn.listExecutionRecords();
}
