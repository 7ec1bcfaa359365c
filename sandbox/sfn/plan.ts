import { forEachState, type AslDefinition, type AslState, type JsonValue } from './asl.ts';

/**
 * Rewrites an ASL definition into what aws-local-stepfunctions runs in the sandbox, and records
 * what each state really is, so history can report it as AWS would.
 *
 * - Wait states become Tasks with a local override that sleeps on the virtual clock (the runner's
 *   Wait uses real timers). InputPath/OutputPath/Next/End are kept, so data flow is unchanged.
 * - Every Task gets a huge real-time TimeoutSeconds: the runner times Tasks out with setTimeout
 *   (60 s by default); the sandbox enforces TimeoutSeconds/HeartbeatSeconds on the virtual clock.
 * - The machine's TimeoutSeconds is removed for the same reason (enforced on the virtual clock).
 * - `$$.Execution.StartTime` / `$$.Execution.Input` are redirected to context fields the runner
 *   does not overwrite (it sets StartTime to the real time, and Input to a branch's own input).
 */

export type StatePlan =
  | { kind: 'wait'; name: string; state: AslState }
  | { kind: 'task'; name: string; state: AslState; resource: TaskResource }
  | { kind: 'other'; name: string; state: AslState };

export type TaskResource =
  /** A function ARN as Resource (CDK LambdaInvoke with payloadResponseOnly). */
  | { type: 'function'; arn: string; functionName: string }
  /**
   * arn:aws:states:::SERVICE:ACTION[.waitForTaskToken|.sync|.sync:2]; `suffix` is the integration
   * pattern as the Resource spells it ('' for request-response), which AWS keeps in history events.
   */
  | { type: 'integration'; arn: string; service: string; action: string; callback: boolean; suffix: IntegrationSuffix }
  | { type: 'unknown'; arn: string };

export type IntegrationSuffix = '' | '.waitForTaskToken' | '.sync' | '.sync:2';

export interface PreparedMachine {
  runnable: AslDefinition;
  plans: Map<string, StatePlan>;
  timeoutSeconds?: number;
}

export const WAIT_RESOURCE = 'arn:aws:states:::sandbox:wait';
/** Real-time ceiling for the runner's own Task timer: ~23 days, below setTimeout's 2^31 ms limit. */
const RUNNER_TASK_TIMEOUT_SECONDS = 2_000_000;
export const VIRTUAL_START_TIME_FIELD = 'SandboxStartTime';
export const ORIGINAL_INPUT_FIELD = 'SandboxInput';

export function prepareMachine(definition: AslDefinition): PreparedMachine {
  const runnable = structuredClone(definition);
  const plans = new Map<string, StatePlan>();
  forEachState(definition, (name, state) => plans.set(name, planState(name, state)));
  rewriteStates(runnable);
  const timeoutSeconds = runnable.TimeoutSeconds;
  delete runnable.TimeoutSeconds;
  return { runnable: redirectContextPaths(runnable) as unknown as AslDefinition, plans, timeoutSeconds };
}

function planState(name: string, state: AslState): StatePlan {
  if (state.Type === 'Wait') return { kind: 'wait', name, state };
  if (state.Type === 'Task') return { kind: 'task', name, state, resource: parseResource(state.Resource ?? '') };
  return { kind: 'other', name, state };
}

export function parseResource(arn: string): TaskResource {
  const fn = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(arn);
  if (fn) return { type: 'function', arn, functionName: fn[1]! };
  const integration = /^arn:aws[\w-]*:states:::([^:]+):(.+)$/.exec(arn);
  if (integration) {
    const [, service, rest] = integration as unknown as [string, string, string];
    const suffix = (/\.(waitForTaskToken|sync(:2)?)$/.exec(rest)?.[0] ?? '') as IntegrationSuffix;
    const action = rest.slice(0, rest.length - suffix.length);
    return { type: 'integration', arn, service, action, callback: suffix === '.waitForTaskToken', suffix };
  }
  return { type: 'unknown', arn };
}

function rewriteStates(definition: AslDefinition): void {
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') definition.States[name] = waitAsTask(state);
    else if (state.Type === 'Task') definition.States[name] = withRunnerTimeout(state);
    for (const branch of state.Branches ?? []) rewriteStates(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) rewriteStates(processor);
  }
}

function waitAsTask(wait: AslState): AslState {
  const task: AslState = { Type: 'Task', Resource: WAIT_RESOURCE, TimeoutSeconds: RUNNER_TASK_TIMEOUT_SECONDS };
  for (const field of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) {
    if (field in wait) task[field] = wait[field];
  }
  return task;
}

function withRunnerTimeout(state: AslState): AslState {
  const copy: AslState = { ...state, TimeoutSeconds: RUNNER_TASK_TIMEOUT_SECONDS };
  delete copy.TimeoutSecondsPath;
  delete copy.HeartbeatSeconds;
  delete copy.HeartbeatSecondsPath;
  return copy;
}

const CONTEXT_PATH = /\$\$\.Execution\.(StartTime|Input)\b/g;

function redirectContextPaths(value: unknown): JsonValue {
  if (typeof value === 'string') {
    return value.replace(CONTEXT_PATH, (_, field: string) =>
      field === 'StartTime' ? `$$.Execution.${VIRTUAL_START_TIME_FIELD}` : `$$.Execution.${ORIGINAL_INPUT_FIELD}`,
    );
  }
  if (Array.isArray(value)) return value.map(redirectContextPaths);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redirectContextPaths(v)]));
  }
  return value as JsonValue;
}
