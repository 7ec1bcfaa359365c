import './polyfill.ts';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

/**
 * A state failure as Step Functions reports it. aws-local-stepfunctions matches Retry/Catch
 * `ErrorEquals` against `error.name` and builds the Catch output as { Error: name, Cause: message },
 * so `name` carries the error and `message` the cause. No `cause` property on purpose: the
 * runner would report it instead of the message in its ExecutionFailed event.
 */
export class StatesTaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** A handler threw: Error is its errorType and Cause the JSON Lambda returns, as in real SFN. */
export function lambdaFailure(thrown: unknown): StatesTaskError {
  const errorType = thrown instanceof Error && thrown.name ? thrown.name : 'Error';
  const errorMessage = thrown instanceof Error ? thrown.message : String(thrown);
  return new StatesTaskError(errorType, JSON.stringify({ errorType, errorMessage }));
}

export function functionNotFound(functionArn: string): StatesTaskError {
  return new StatesTaskError(
    'Lambda.ResourceNotFoundException',
    `Function not found: ${functionArn} (Service: Lambda, Status Code: 404, Error Code: ResourceNotFoundException, Request ID: sandbox)`,
  );
}

/** Thrown inside a Task override when StopExecution or the machine timeout ended the execution. */
export class ExecutionStoppedError extends Error {
  override name = 'Sandbox.ExecutionStopped';
}

type ErrorCtor = new () => Error;
let timeoutCtor: Promise<ErrorCtor> | undefined;

/**
 * A real StatesTimeoutError from the runner. It is not exported, and the runner only refuses to
 * let `States.TaskFailed` match a timeout when `error instanceof StatesTimeoutError`; our timeouts
 * run on the virtual clock, so we borrow the class once from a 1 ms probe execution.
 */
export async function statesTimeoutError(): Promise<Error> {
  timeoutCtor ??= captureTimeoutClass();
  const Ctor = await timeoutCtor;
  return new Ctor();
}

async function captureTimeoutClass(): Promise<ErrorCtor> {
  const definition = {
    StartAt: 'Probe',
    States: { Probe: { Type: 'Task', Resource: 'arn:aws:states:::sandbox:probe', TimeoutSeconds: 0.001, End: true } },
  } as unknown as StateMachineDefinition;
  const probe = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const run = probe.run(null, { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise(() => undefined) } } });
  try {
    await run.result;
  } catch (err) {
    const cause = (err as Error).cause;
    if (cause instanceof Error && cause.name === 'States.Timeout') return cause.constructor as ErrorCtor;
  }
  // Fallback keeps the name right; only the States.TaskFailed exclusion would be lost.
  return class extends StatesTaskError {
    constructor() {
      super('States.Timeout', 'States.Timeout');
    }
  };
}

/**
 * StartExecution refused a start made by the optimized `states:startExecution` integration. Errors
 * of optimized integrations are named `ServiceName.ExceptionName` (Developer Guide, "Handling errors
 * in Step Functions workflows"), here `StepFunctions.<Code>Exception`, e.g.
 * StepFunctions.StateMachineDoesNotExistException; the cause is the SDK's message with the
 * service's footer, as Step Functions records it.
 */
export function stepFunctionsFailure(code: string, message: string, status: number): StatesTaskError {
  const exception = code.endsWith('Exception') ? code : `${code}Exception`;
  return new StatesTaskError(
    `StepFunctions.${exception}`,
    `${message} (Service: AWSStepFunctions; Status Code: ${status}; Error Code: ${code}; Request ID: sandbox; Proxy: null)`,
  );
}
