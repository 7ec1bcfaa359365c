import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { fullHistory } from '#commons/execution-history';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario, type ScenarioInput } from '../../sandbox/scenario.ts';

export interface ExecutionResult {
  status: string;
  error?: string;
  cause?: string;
  /** The failing handler's message (Step Functions wraps it as {"errorType","errorMessage"}). */
  message?: string;
  output: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Names of the states entered, in order: the path the execution took. */
  path: string[];
  history: HistoryEvent[];
  simulatedSeconds: number;
}

/** Boots a sandbox for the scenario, runs `body`, always stops it. */
export async function withSandbox<T>(scenario: ScenarioInput, body: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  const sandbox = await Sandbox.start(parseScenario(scenario));
  try {
    return await body(sandbox);
  } finally {
    await sandbox.stop();
  }
}

/** Starts the P0 state machine through the real SFN client, as the console or an alarm would, and waits for it. */
export function runP0(sandbox: Sandbox, input: unknown): Promise<ExecutionResult> {
  return runWorkflow(sandbox, 'p0-system-down', input);
}

/** Starts one of the workflows (by the suffix of its state machine's name) and waits for it. */
export async function runWorkflow(sandbox: Sandbox, workflow: string, input: unknown, name?: string): Promise<ExecutionResult> {
  const sfn = new SFNClient(sandbox.clientOptions());
  const started = sandbox.clock.nowMs();
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(workflow), input: typeof input === 'string' ? input : JSON.stringify(input), ...(name ? { name } : {}) }),
  );
  return finished(sandbox, sfn, executionArn!, started);
}

/** Waits for an execution already started (an alarm's, an escalation's) and reads its end. */
export async function finished(sandbox: Sandbox, sfn: SFNClient, executionArn: string, started = sandbox.clock.nowMs()): Promise<ExecutionResult> {
  await sandbox.sfn.wait(executionArn!);
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const history = await fullHistory(sfn, executionArn!);
  return {
    status: d.status ?? 'UNKNOWN',
    ...(d.error ? { error: d.error } : {}),
    ...(d.cause ? { cause: d.cause, message: errorMessage(d.cause) } : {}),
    output: d.output ? JSON.parse(d.output) : {},
    path: history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name ?? '?'),
    history,
    simulatedSeconds: Math.round(((d.stopDate?.getTime() ?? sandbox.clock.nowMs()) - started) / 1000),
  };
}

/** The state's output each time it exited (a failed execution has no output of its own to read). */
export function stateOutputs(run: ExecutionResult, stateName: string): Record<string, any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return run.history
    .filter((e) => e.stateExitedEventDetails?.name === stateName)
    .map((e) => JSON.parse(e.stateExitedEventDetails!.output ?? '{}') as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** UpdateService / RegisterTaskDefinition calls made to the sandbox (seeded history excluded). */
export function mutatingCalls(sandbox: Sandbox): { eventName: string; params: Record<string, unknown> }[] {
  return sandbox.trail.mutatingEvents().map((e) => ({ eventName: e.eventName, params: e.requestParameters }));
}

function errorMessage(cause: string): string {
  try {
    return (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    return cause;
  }
}
