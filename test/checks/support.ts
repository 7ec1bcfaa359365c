import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import type { Sandbox } from '../../sandbox/index.ts';
import type { ExecutionResult } from '../support/p0.ts';

/** Starts one of the synthesized state machines as the console (or EventBridge Scheduler) would, and waits for it. */
export async function runMachine(sandbox: Sandbox, machine: 'p2-minor' | 'health-check', input: unknown): Promise<ExecutionResult & { executionArn: string }> {
  const sfn = new SFNClient(sandbox.clientOptions());
  const started = sandbox.clock.nowMs();
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(machine), input: typeof input === 'string' ? input : JSON.stringify(input) }));
  await sandbox.sfn.wait(executionArn!);
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const history = await fullHistory(sfn, executionArn!);
  let message: string | undefined;
  try {
    message = d.cause ? ((JSON.parse(d.cause) as { errorMessage?: string }).errorMessage ?? d.cause) : undefined;
  } catch {
    message = d.cause;
  }
  return {
    executionArn: executionArn!,
    status: d.status ?? 'UNKNOWN',
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause } : {}),
    ...(message ? { message } : {}),
    output: d.output ? JSON.parse(d.output) : {},
    path: history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name ?? '?'),
    history,
    simulatedSeconds: Math.round(((d.stopDate?.getTime() ?? sandbox.clock.nowMs()) - started) / 1000),
  };
}

/** ECS calls that change something, made by any handler of the run (UpdateService, RegisterTaskDefinition, …). */
export function ecsChanges(sandbox: Sandbox): string[] {
  return sandbox.invocations.flatMap((i) => i.calls.filter((c) => /^(ecs|ecsOnce):(Update|Register|Create|Delete|Stop|Run|Start)/.test(c)));
}
