import { GetFunctionCommand, InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { lambdaClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { checkInputSchema, type CheckResult, type HealthLine } from './health/plan.ts';

export interface CheckFunctionsDeps {
  lambda: LambdaClient;
  clock: Clock;
}

/** The test event each function is invoked with: it must answer it without side effects. */
const TEST_EVENT = { source: 'incident-flows.health-check', 'detail-type': 'Health check', detail: {} };

/**
 * Runbook › Health Checks › "Check Lambda function" and "Governance Lambda: responding":
 * `get-function` (State must be Active — Lambda Developer Guide, "Lambda function states"; a
 * LastUpdateStatus of Failed is reported too), then a synchronous test invoke (RequestResponse):
 * an answer with X-Amz-Function-Error (FunctionError "Unhandled" or "Handled") fails the line
 * (Lambda API Reference, Invoke).
 */
export async function checkFunctions(event: unknown, deps: CheckFunctionsDeps): Promise<CheckResult> {
  const { plan } = parseInput(checkInputSchema, event, 'check-functions input');
  const lines: HealthLine[] = [];
  for (const name of plan.functions) lines.push(await checkFunction(name, deps));
  return { lines, checkedAt: deps.clock.now().toISOString() };
}

async function checkFunction(name: string, deps: CheckFunctionsDeps): Promise<HealthLine> {
  const component = `${name} (Lambda)`;
  let state: string;
  try {
    const out = await deps.lambda.send(new GetFunctionCommand({ FunctionName: name }));
    state = out.Configuration?.State ?? 'Active';
    if (state !== 'Active') {
      const reason = out.Configuration?.StateReason ? `: ${out.Configuration.StateReason}` : '';
      return { kind: 'function', component, ok: false, figure: `state ${state}${reason}` };
    }
    if (out.Configuration?.LastUpdateStatus === 'Failed') {
      return { kind: 'function', component, ok: false, figure: `Active, but its last update failed: ${out.Configuration.LastUpdateStatusReason ?? 'no reason given'}` };
    }
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return { kind: 'function', component, ok: false, figure: 'not found (ResourceNotFoundException)' };
    throw err;
  }
  const started = deps.clock.now().getTime();
  const out = await deps.lambda.send(
    new InvokeCommand({ FunctionName: name, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(TEST_EVENT)) }),
  );
  const ms = deps.clock.now().getTime() - started;
  if (out.FunctionError) {
    return { kind: 'function', component, ok: false, figure: `Active, but the test invoke failed (${out.FunctionError}): ${errorMessageOf(out.Payload)}` };
  }
  return { kind: 'function', component, ok: true, figure: `Active, responding (status ${out.StatusCode ?? 200}${ms > 0 ? `, ${ms} ms` : ''})` };
}

/** The function's {"errorType","errorMessage"} answer, shortened; anything else as text. */
function errorMessageOf(payload: Uint8Array | undefined): string {
  const text = payload ? new TextDecoder().decode(payload) : '';
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    const message = [parsed.errorType, parsed.errorMessage].filter((x) => typeof x === 'string').join(': ');
    return (message || text).slice(0, 200);
  } catch {
    return text.slice(0, 200) || 'no payload';
  }
}

const defaults = once(() => ({ lambda: lambdaClient(), clock: systemClock }));
const log = once(() => createLogger('check-functions'));
export const handler = step('check-functions', log, (event) => checkFunctions(event, defaults()));
