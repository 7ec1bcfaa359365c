import './polyfill.ts';
import { randomBytes } from 'node:crypto';
import type { DescribeExecutionOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition, type RunOptions } from 'aws-local-stepfunctions';
import type { SimClock } from '#sandbox/clock';
import { AwsServiceError } from '#sandbox/http';
import type { Latency } from '#sandbox/latency';
import { readPath, type AslRetrier, type AslState } from './asl.ts';
import {
  ExecutionStoppedError,
  StatesTaskError,
  functionNotFound,
  lambdaFailure,
  statesTimeoutError,
  stepFunctionsFailure,
} from './errors.ts';
import {
  ORIGINAL_INPUT_FIELD,
  VIRTUAL_START_TIME_FIELD,
  type PreparedMachine,
  type StatePlan,
  type TaskResource,
} from './plan.ts';
import { VirtualTimer, interruptibleSleep } from './timers.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  /** JSON text, as StartExecution received it. */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** RedriveExecution: how many times this execution was redriven, and the last time. */
  redriveCount?: number;
  redriveDate?: Date;
  /**
   * The execution whose Task started this one through `states:startExecution`. The sandbox's own
   * record: AWS's DescribeExecution has no such field (its console links the two through the
   * AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID input field), so the wire answer leaves it out.
   */
  parentExecutionArn?: string;
}

/**
 * What a redrive carries over from the attempt before it (Step Functions Developer Guide,
 * "Redriving executions"): the same ARN, input and history; it resumes at the unsuccessful
 * top-level state with that state's input, and the execution timeout starts again from zero.
 */
export interface Redrive {
  events: HistoryEvent[];
  startDate: Date;
  redriveCount: number;
  startAt: string;
  stateInput: unknown;
}

export type Handler = (event: unknown) => Promise<unknown>;
export type Handlers = Record<string, Handler>;

export interface PendingTask {
  token: string;
  executionArn: string;
  stateName: string;
  /** The evaluated Parameters, with the real token substituted. */
  input: unknown;
}

/** What the facade lends each execution: time, handlers and the shared task-token table. */
export interface ExecutionEnv {
  clock: SimClock;
  region: string;
  accountId: string;
  handlers: Handlers;
  tokens: TaskTokens;
  nested: NestedExecutions;
  onEvent: (event: HistoryEvent, execution: ExecutionRecord) => void;
  /** What AWS's own machinery costs (invocations, transitions, integration calls); none when absent. */
  latency?: Latency;
}

/** The facade's own API, as the optimized `states:startExecution` integration calls it. */
export interface NestedExecutions {
  /**
   * StartExecution with the API's request fields (stateMachineArn, input, name): the started (or,
   * for an identical request while it runs, the existing) execution. Throws AwsServiceError as the
   * API answers a refusal.
   */
  start(request: { stateMachineArn: unknown; input: unknown; name: unknown }, parentExecutionArn: string): Execution;
  /** DescribeExecution's answer for this execution. */
  describe(execution: Execution): DescribeExecutionOutput;
}

/** The single `$$.Task.Token` the runner can hold per run; each callback swaps in a fresh token. */
export const TOKEN_PLACEHOLDER = 'sandbox-task-token-placeholder-0d4f6c1e';

/** The parts of the runner's event-log entries we read (see its docs/execution-event-logs). */
interface RunnerEvent {
  type: string;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  parentState?: { name: string };
  index?: number;
}

interface Cancellable {
  cancel(): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

type StopRequest = { kind: 'abort'; error?: string; cause?: string } | { kind: 'timeout' };

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_BACKOFF_RATE = 2;

/**
 * One Standard-workflow execution run by aws-local-stepfunctions on the virtual clock.
 *
 * Clock accounting: the execution is one clock actor while it works. Each Task/Wait override is a
 * "thread"; concurrent threads (Parallel branches, Map items) each hold an actor, a thread waiting
 * for a task token holds none (it is waiting on the world, so time may pass), and a sleeping
 * thread holds its actor while asleep. `syncActors` reconciles that count with the clock.
 */
export class Execution {
  readonly record: ExecutionRecord;
  readonly events: HistoryEvent[] = [];
  /** Last event id per state name: the previousEventId chain AWS keeps within a state. */
  private readonly lastEventOf = new Map<string, number>();
  private readonly stop = new AbortController();
  private readonly finished: Promise<ExecutionRecord>;
  private resolveFinished!: (record: ExecutionRecord) => void;
  private stopRequest: StopRequest | undefined;
  private abortRunner: (() => void) | undefined;
  private deadline: VirtualTimer | undefined;
  private closed = false;
  private heldActors = 0;
  private busyThreads = 0;
  private idleThreads = 0;
  private readonly entries = new Map<string, number>();
  private readonly entryWaiters = new Map<string, (() => void)[]>();
  private readonly retries = new Map<string, { attempts: number[]; pendingDelay?: number }>();
  private failState: { state: AslState; input: unknown } | undefined;
  /** Each state's raw input as it entered: TimeoutSecondsPath and HeartbeatSecondsPath read the state input, not the Parameters. */
  private readonly stateInputs = new Map<string, unknown>();
  /**
   * States entered whose transition latency is not charged yet. The runner moves through Choice,
   * Pass and the like without us, so their cost is paid by the next Task or Wait (or at the end).
   */
  private unchargedTransitions = 0;

  constructor(
    private readonly env: ExecutionEnv,
    private readonly machine: PreparedMachine,
    record: Omit<ExecutionRecord, 'status' | 'startDate'>,
    private readonly redrive?: Redrive,
  ) {
    this.record = redrive
      ? { ...record, status: 'RUNNING', startDate: redrive.startDate, redriveCount: redrive.redriveCount, redriveDate: env.clock.now() }
      : { ...record, status: 'RUNNING', startDate: env.clock.now() };
    if (redrive) this.events.push(...redrive.events);
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /**
   * Where a redrive of this closed execution resumes: the last top-level state entered and never
   * exited (the one that failed, was running when the execution was stopped or timed out, or the
   * Fail state it ended in), with the input it entered with. Undefined when no state was entered.
   */
  redrivePoint(): { startAt: string; stateInput: unknown } | undefined {
    const topLevel = new Set(Object.keys(this.machine.runnable.States));
    let open: { startAt: string; stateInput: string } | undefined;
    for (const event of this.events) {
      const entered = event.stateEnteredEventDetails;
      const exited = event.stateExitedEventDetails;
      if (entered?.name && topLevel.has(entered.name)) open = { startAt: entered.name, stateInput: entered.input ?? '{}' };
      else if (exited?.name && exited.name === open?.startAt) open = undefined;
    }
    return open ? { startAt: open.startAt, stateInput: JSON.parse(open.stateInput) as unknown } : undefined;
  }

  get done(): Promise<ExecutionRecord> {
    return this.finished;
  }

  get roleArn(): string {
    return `arn:aws:iam::${this.env.accountId}:role/sandbox-${this.record.stateMachineName}`;
  }

  /** Starts the run in the background; `done` settles when the execution closes. */
  start(): void {
    this.syncActors();
    try {
      if (this.redrive) this.emit('ExecutionRedriven', { executionRedrivenEventDetails: { redriveCount: this.redrive.redriveCount } });
      else {
        this.emit('ExecutionStarted', {
          executionStartedEventDetails: { input: this.record.input, inputDetails: { truncated: false }, roleArn: this.roleArn },
        });
      }
    } catch (error) {
      // A listener that throws on the first event must not leave the execution RUNNING, holding the clock.
      this.finish({ ok: false, error: recordingFailure(error) });
      return;
    }
    if (this.machine.timeoutSeconds !== undefined) {
      this.deadline = new VirtualTimer(this.env.clock, this.machine.timeoutSeconds, () => this.terminate({ kind: 'timeout' }));
    }
    void this.run();
  }

  /** StopExecution: closes the execution now; in-flight handlers finish but are ignored. */
  abort(error?: string, cause?: string): void {
    this.terminate({ kind: 'abort', error, cause });
  }

  /** The execution's own timeout, now (tests: a timeout at any state, without waiting hours). */
  timeOut(): void {
    this.terminate({ kind: 'timeout' });
  }

  private async run(): Promise<void> {
    let outcome: Outcome;
    let recordingBroke = false;
    try {
      const input = JSON.parse(this.record.input) as unknown;
      const definition = this.redrive ? { ...this.machine.runnable, StartAt: this.redrive.startAt } : this.machine.runnable;
      const runner = new StateMachine(definition as unknown as StateMachineDefinition, {
        // The facade validated the original definition once; validating per run costs ~200 ms.
        validationOptions: { noValidate: true },
      });
      const run = runner.run((this.redrive ? this.redrive.stateInput : input) as never, this.runOptions(input));
      this.abortRunner = run.abort;
      // A throw while recording an event (a state too deep to serialize, a listener that fails)
      // would leave the next Task waiting for a history entry that never comes, the clock held:
      // it fails the execution at once instead, as States.Runtime.
      const recording = this.consume(run.eventLogs as unknown as AsyncGenerator<RunnerEvent>).then(
        () => undefined,
        (error: unknown) => recordingFailure(error),
      );
      const settled = run.result.then(
        (value): Outcome => ({ ok: true, value }),
        (error: unknown): Outcome => ({ ok: false, error }),
      );
      outcome = await Promise.race([settled, recording.then((failure): Outcome | Promise<Outcome> => (failure ? { ok: false, error: failure } : settled))]);
      // The runner may finish first: its last events are still being recorded, and may fail too.
      const failure = await recording;
      if (failure) {
        outcome = { ok: false, error: failure };
        recordingBroke = true;
      }
    } catch (error) {
      outcome = { ok: false, error };
    }
    // The states after the last Task or Wait (a Choice, a Succeed, a Fail) took their time too.
    const closing = this.payTransitions();
    if (closing) await closing.catch(() => undefined);
    this.finish(outcome);
    // Whatever the runner still had in flight is moot: stop it (its overrides already see the stop signal).
    if (recordingBroke) this.abortRunner?.();
  }

  private runOptions(input: unknown): RunOptions {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervals: Record<string, number> = {};
    for (const plan of this.machine.plans.values()) {
      // Retry pauses happen inside our overrides, on the virtual clock; the runner's are zero.
      if (plan.state.Retry) retryIntervals[plan.name] = 0;
      if (plan.kind === 'wait') handlers[plan.name] = (value) => this.override(plan.name, () => this.runWait(plan, value));
      if (plan.kind === 'task') handlers[plan.name] = (value) => this.override(plan.name, () => this.runTask(plan, value));
    }
    const startTime = this.record.startDate.toISOString();
    return {
      noThrowOnAbort: true,
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryIntervals } as RunOptions['overrides'],
      context: {
        Execution: {
          Id: this.record.executionArn,
          Name: this.record.name,
          RoleArn: this.roleArn,
          StartTime: startTime,
          Input: input as never,
          [VIRTUAL_START_TIME_FIELD]: startTime,
          [ORIGINAL_INPUT_FIELD]: input,
        },
        StateMachine: { Id: this.record.stateMachineArn, Name: this.record.stateMachineName },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    };
  }

  // ---------------------------------------------------------------- clock actors

  private syncActors(): void {
    const wanted = this.closed ? 0 : Math.max(0, 1 + Math.max(0, this.busyThreads - 1) - this.idleThreads);
    while (this.heldActors < wanted) {
      this.heldActors += 1;
      this.env.clock.enter();
    }
    while (this.heldActors > wanted) {
      this.heldActors -= 1;
      this.env.clock.leave();
    }
  }

  /** Wraps every Task/Wait override: waits for its history entry, then counts as a thread. */
  private async override(stateName: string, work: () => Promise<unknown>): Promise<unknown> {
    await this.claimEntry(stateName);
    this.busyThreads += 1;
    this.syncActors();
    try {
      const paying = this.payTransitions();
      if (paying) await paying;
      return await work();
    } finally {
      this.busyThreads -= 1;
      this.syncActors();
    }
  }

  /** A thread waiting on the outside world (a task token) lets time pass. */
  private async idle<T>(wait: Promise<T>): Promise<T> {
    this.idleThreads += 1;
    this.syncActors();
    try {
      return await wait;
    } finally {
      this.idleThreads -= 1;
      this.syncActors();
    }
  }

  // ---------------------------------------------------------------- history

  /**
   * The runner calls an override synchronously while dispatching StateEntered (or StateRetried),
   * but its event stream reaches us a few microtasks later. Overrides wait for their entry to be
   * recorded so that TaskScheduled never precedes TaskStateEntered.
   */
  private claimEntry(stateName: string): Promise<void> {
    if (this.stop.signal.aborted) return Promise.reject(new ExecutionStoppedError('execution stopped'));
    const available = this.entries.get(stateName) ?? 0;
    if (available > 0) {
      this.entries.set(stateName, available - 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onStop = (): void => reject(new ExecutionStoppedError('execution stopped'));
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      const waiters = this.entryWaiters.get(stateName) ?? [];
      waiters.push(() => {
        this.stop.signal.removeEventListener('abort', onStop);
        resolve();
      });
      this.entryWaiters.set(stateName, waiters);
    });
  }

  private releaseEntry(stateName: string): void {
    const waiter = this.entryWaiters.get(stateName)?.shift();
    if (waiter) waiter();
    else this.entries.set(stateName, (this.entries.get(stateName) ?? 0) + 1);
  }

  private async consume(events: AsyncGenerator<RunnerEvent>): Promise<void> {
    for await (const event of events) this.onRunnerEvent(event);
  }

  private onRunnerEvent(event: RunnerEvent): void {
    const state = event.state;
    switch (event.type) {
      case 'StateEntered':
        if (state) this.onStateEntered(state.name, state.input);
        break;
      case 'StateRetried':
        if (state) this.releaseEntry(state.name);
        break;
      case 'StateExited':
        if (state) this.onStateExited(state.name, state.output);
        break;
      case 'StateFailed':
        if (state) this.onStateFailed(state.name);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name: event.parentState?.name, index: event.index };
        const field = `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.emit(event.type, { [field]: details });
        break;
      }
      default:
        // Execution-level events are emitted by `start`/`finish` with virtual timestamps;
        // AWS has no per-branch Parallel events.
        break;
    }
  }

  private typeOf(stateName: string): string {
    const plan = this.machine.plans.get(stateName);
    return plan?.state.Type ?? 'Task';
  }

  private onStateEntered(name: string, input: unknown): void {
    const type = this.typeOf(name);
    this.lastEventOf.delete(name);
    this.stateInputs.set(name, input);
    this.unchargedTransitions += 1;
    this.emit(`${type}StateEntered`, { stateEnteredEventDetails: { name, input: json(input), inputDetails: { truncated: false } } }, name);
    if (type === 'Parallel') this.emit('ParallelStateStarted', {});
    if (type === 'Map') this.emit('MapStateStarted', { mapStateStartedEventDetails: { length: mapLength(this.machine.plans.get(name)!, input) } });
    if (type === 'Fail') this.failState = { state: this.machine.plans.get(name)!.state, input };
    this.releaseEntry(name);
  }

  private onStateExited(name: string, output: unknown): void {
    const type = this.typeOf(name);
    if (type === 'Parallel' || type === 'Map') this.emit(`${type}StateSucceeded`, {});
    this.emit(`${type}StateExited`, { stateExitedEventDetails: { name, output: json(output), outputDetails: { truncated: false } } }, name);
  }

  private onStateFailed(name: string): void {
    const type = this.typeOf(name);
    if (type === 'Parallel' || type === 'Map') this.emit(`${type}StateFailed`, {});
  }

  /**
   * Records an event. Events of one state chain to that state's previous event, as on AWS, so
   * interleaved Parallel branches stay attributable; everything else chains to the event before.
   */
  private emit(type: string, details: Partial<HistoryEvent>, state?: string): void {
    if (this.closed && !type.startsWith('Execution')) return;
    const id = this.events.length + 1;
    const previousEventId = (state !== undefined ? this.lastEventOf.get(state) : undefined) ?? id - 1;
    if (state !== undefined) this.lastEventOf.set(state, id);
    const event = { timestamp: this.env.clock.now(), type, id, previousEventId, ...details } as HistoryEvent;
    this.events.push(event);
    this.env.onEvent(event, this.record);
  }

  // ---------------------------------------------------------------- Wait

  private async runWait(plan: StatePlan, input: unknown): Promise<unknown> {
    const seconds = waitSeconds(plan.state, input, this.env.clock.nowMs());
    await interruptibleSleep(this.env.clock, seconds, this.stop.signal);
    return input;
  }

  // ---------------------------------------------------------------- Task

  private async runTask(plan: Extract<StatePlan, { kind: 'task' }>, input: unknown): Promise<unknown> {
    await this.retryPause(plan.name);
    try {
      const output = await this.invokeResource(plan, input);
      this.retries.delete(plan.name);
      return output;
    } catch (error) {
      if (error instanceof ExecutionStoppedError) throw error;
      this.noteFailure(plan, error as Error);
      throw error;
    }
  }

  private invokeResource(plan: Extract<StatePlan, { kind: 'task' }>, input: unknown): Promise<unknown> {
    const { resource } = plan;
    if (resource.type === 'function') return this.runFunction(plan, resource, input);
    if (resource.type === 'integration' && resource.callback) return this.runCallback(plan, resource, input);
    if (resource.type === 'integration' && isStartExecution(resource) && resource.suffix !== '') return this.runNestedSync(plan, resource, input);
    if (resource.type === 'integration') return this.runIntegration(plan, resource, input);
    return Promise.reject(new StatesTaskError('States.Runtime', `sandbox cannot run Resource ${resource.arn}`));
  }

  /** Resource = function ARN: AWS reports LambdaFunction* events. */
  private async runFunction(plan: StatePlan, resource: Extract<TaskResource, { type: 'function' }>, input: unknown): Promise<unknown> {
    const timeout = taskTimeoutSeconds(plan.state, this.stateInputs.get(plan.name) ?? input);
    this.emit('LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: { resource: resource.arn, input: json(input), inputDetails: { truncated: false }, timeoutInSeconds: timeout },
    }, plan.name);
    this.emit('LambdaFunctionStarted', {}, plan.name);
    try {
      const output = await this.withTimeout(this.invokeHandler(resource.functionName, resource.arn, input), timeout);
      this.emit('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: json(output), outputDetails: { truncated: false } } }, plan.name);
      return output;
    } catch (error) {
      if (error instanceof ExecutionStoppedError) throw error;
      const { name } = error as Error;
      const type = name === 'States.Timeout' ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
      const field = name === 'States.Timeout' ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails';
      this.emit(type, { [field]: { error: name, cause: causeText(error as Error) } }, plan.name);
      throw error;
    }
  }

  /** arn:aws:states:::lambda:invoke and other request-response integrations: Task* events. */
  private async runIntegration(plan: StatePlan, resource: Extract<TaskResource, { type: 'integration' }>, input: unknown): Promise<unknown> {
    const timeout = taskTimeoutSeconds(plan.state, this.stateInputs.get(plan.name) ?? input);
    // AWS names the pattern too (e.g. "runTask.sync"); other services' .sync jobs complete with their handler's answer.
    const base = { resourceType: resource.service, resource: `${resource.action}${resource.suffix}` };
    this.emit('TaskScheduled', { taskScheduledEventDetails: { ...base, region: this.env.region, parameters: json(input), timeoutInSeconds: timeout } }, plan.name);
    this.emit('TaskStarted', { taskStartedEventDetails: base }, plan.name);
    try {
      const output = await this.withTimeout(this.callIntegration(resource, input), timeout);
      this.emit('TaskSucceeded', { taskSucceededEventDetails: { ...base, output: json(output), outputDetails: { truncated: false } } }, plan.name);
      return output;
    } catch (error) {
      this.emitTaskError(plan.name, base, error);
      throw error;
    }
  }

  private async callIntegration(resource: Extract<TaskResource, { type: 'integration' }>, input: unknown): Promise<unknown> {
    if (resource.service === 'lambda' && resource.action === 'invoke') {
      const { functionName, arn } = functionOf(input, this.env);
      const payload = await this.invokeHandler(functionName, arn, payloadOf(input));
      return lambdaInvokeResult(payload);
    }
    // Request-response: the child is started and the task completes with StartExecution's answer.
    if (isStartExecution(resource)) {
      const paying = this.payApiCall('sfn', 'StartExecution');
      if (paying) await paying;
      return startExecutionResult(this.startChild(input));
    }
    const handler = this.env.handlers[`${resource.service}:${resource.action}`];
    if (!handler) throw new StatesTaskError('States.Runtime', `sandbox has no handler for ${resource.arn}`);
    const paying = this.payApiCall(resource.service, resource.action);
    if (paying) await paying;
    return this.callHandler(handler, input);
  }

  /**
   * `.waitForTaskToken`: mint a token for this attempt, put it where the Parameters referenced
   * `$$.Task.Token`, start the work, then wait for SendTaskSuccess/Failure or a virtual timeout.
   */
  private async runCallback(plan: StatePlan, resource: Extract<TaskResource, { type: 'integration' }>, input: unknown): Promise<unknown> {
    const token = mintTaskToken();
    const parameters = replaceDeep(input, TOKEN_PLACEHOLDER, token);
    const stateInput = this.stateInputs.get(plan.name) ?? input;
    const timeout = taskTimeoutSeconds(plan.state, stateInput);
    const heartbeat = heartbeatSeconds(plan.state, stateInput);
    const base = { resourceType: resource.service, resource: `${resource.action}.waitForTaskToken` };
    this.emit('TaskScheduled', {
      taskScheduledEventDetails: { ...base, region: this.env.region, parameters: json(parameters), timeoutInSeconds: timeout, heartbeatInSeconds: heartbeat },
    }, plan.name);
    this.emit('TaskStarted', { taskStartedEventDetails: base }, plan.name);
    const waiter = this.env.tokens.open({ token, executionArn: this.record.executionArn, stateName: plan.name, input: parameters });
    const timers = this.callbackTimers(waiter, timeout, heartbeat);
    const onStop = (): void => waiter.reject(new ExecutionStoppedError('execution stopped'));
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const submitted = await this.callIntegrationForCallback(resource, parameters);
      this.emit('TaskSubmitted', { taskSubmittedEventDetails: { ...base, output: json(submitted), outputDetails: { truncated: false } } }, plan.name);
      const output = await this.idle(waiter.result);
      this.emit('TaskSucceeded', { taskSucceededEventDetails: { ...base, output: json(output), outputDetails: { truncated: false } } }, plan.name);
      return output;
    } catch (error) {
      this.emitTaskError(plan.name, base, error);
      throw error;
    } finally {
      timers.forEach((t) => t.cancel());
      this.stop.signal.removeEventListener('abort', onStop);
      this.env.tokens.close(token);
    }
  }

  private async callIntegrationForCallback(resource: Extract<TaskResource, { type: 'integration' }>, parameters: unknown): Promise<unknown> {
    if (resource.service === 'lambda' && resource.action === 'invoke') {
      const { functionName, arn } = functionOf(parameters, this.env);
      // The Lambda runs asynchronously in AWS; its answer does not complete the task.
      return lambdaInvokeResult(await this.invokeHandler(functionName, arn, payloadOf(parameters)));
    }
    // The child gets the token in its input and answers with SendTaskSuccess/Failure itself.
    if (isStartExecution(resource)) {
      const paying = this.payApiCall('sfn', 'StartExecution');
      if (paying) await paying;
      return startExecutionResult(this.startChild(parameters));
    }
    const handler = this.env.handlers[`${resource.service}:${resource.action}`];
    if (!handler) return {};
    const paying = this.payApiCall(resource.service, resource.action);
    if (paying) await paying;
    return this.callHandler(handler, parameters);
  }

  // ---------------------------------------------------------------- nested executions

  /**
   * `states:startExecution.sync` and `.sync:2` (Developer Guide, "Start a new AWS Step Functions
   * state machine from a running execution" and "Discover service integration patterns": Run a Job):
   * start the child, record StartExecution's answer as TaskSubmitted, and complete when the child
   * closes — with DescribeExecution's answer if it SUCCEEDED, else States.TaskFailed whose cause is
   * that answer as JSON (Error and Cause included), so Catch on States.TaskFailed or States.ALL
   * takes it. While it waits the parent holds no clock actor: the child's own work and Wait states
   * set the pace.
   *
   * A parent that stops waiting without the child's answer — StopExecution, its own TimeoutSeconds,
   * this Task's TimeoutSeconds, a failed Parallel sibling — stops the child, best-effort, as AWS
   * stops a `.sync` job whose Task ends: the `.sync` IAM policy AWS generates for this integration
   * grants states:StopExecution on the child's executions ("IAM policies for AWS Step Functions"),
   * and the stop carries no error and the cause AWS gives a job it abandons ("The Task state in AWS
   * Step Functions execution [parent] which was managing this resource was aborted", the stopped
   * reason AWS Batch shows for a .sync job of a stopped execution).
   */
  private async runNestedSync(plan: StatePlan, resource: Extract<TaskResource, { type: 'integration' }>, input: unknown): Promise<unknown> {
    const timeout = taskTimeoutSeconds(plan.state, this.stateInputs.get(plan.name) ?? input);
    const base = { resourceType: resource.service, resource: `${resource.action}${resource.suffix}` };
    this.emit('TaskScheduled', { taskScheduledEventDetails: { ...base, region: this.env.region, parameters: json(input), timeoutInSeconds: timeout } }, plan.name);
    this.emit('TaskStarted', { taskStartedEventDetails: base }, plan.name);
    let child: Execution | undefined;
    try {
      const paying = this.payApiCall('sfn', 'StartExecution');
      if (paying) await paying;
      child = this.startChild(input);
      this.emit('TaskSubmitted', { taskSubmittedEventDetails: { ...base, output: json(startExecutionResult(child)), outputDetails: { truncated: false } } }, plan.name);
      await this.idle(this.withTimeout(child.done, timeout));
      const described = describedForTask(this.env.nested.describe(child), resource.suffix === '.sync:2');
      if (child.record.status !== 'SUCCEEDED') throw new StatesTaskError('States.TaskFailed', JSON.stringify(described));
      this.emit('TaskSucceeded', { taskSucceededEventDetails: { ...base, output: json(described), outputDetails: { truncated: false } } }, plan.name);
      return described;
    } catch (error) {
      if (child?.record.status === 'RUNNING') child.abort(undefined, `The Task state in AWS Step Functions execution [${this.record.executionArn}] which was managing this resource was aborted`);
      this.emitTaskError(plan.name, base, error);
      throw error;
    }
  }

  /**
   * StartExecution from the task's Parameters (StateMachineArn, Input, Name): an object Input is
   * sent as its JSON text, a string as it is (already JSON text, e.g. States.JsonToString's), none
   * as "{}". The API's refusals become the integration's StepFunctions.*Exception errors.
   */
  private startChild(parameters: unknown): Execution {
    const fields = parameters !== null && typeof parameters === 'object' && !Array.isArray(parameters) ? (parameters as Record<string, unknown>) : {};
    const raw = fields.Input;
    const input = raw === undefined || raw === null ? undefined : typeof raw === 'string' ? raw : JSON.stringify(raw);
    try {
      return this.env.nested.start({ stateMachineArn: fields.StateMachineArn, input, name: fields.Name }, this.record.executionArn);
    } catch (error) {
      if (error instanceof AwsServiceError) throw stepFunctionsFailure(error.code, error.message, error.status);
      throw error;
    }
  }

  private callbackTimers(waiter: TokenWaiter, timeout: number | undefined, heartbeat: number | undefined): Cancellable[] {
    const timers: Cancellable[] = [];
    if (timeout !== undefined) {
      timers.push(new VirtualTimer(this.env.clock, timeout, () => this.timeOutWith((e) => waiter.reject(e))));
    }
    if (heartbeat !== undefined) {
      let beat: VirtualTimer | undefined;
      const arm = (): void => {
        beat?.cancel();
        beat = new VirtualTimer(this.env.clock, heartbeat, () =>
          waiter.reject(new StatesTaskError('States.HeartbeatTimeout', '')),
        );
      };
      arm();
      waiter.onHeartbeat = arm;
      timers.push({ cancel: () => beat?.cancel() });
    }
    return timers;
  }

  private emitTaskError(state: string, base: { resourceType: string; resource: string }, error: unknown): void {
    if (error instanceof ExecutionStoppedError) return;
    const { name } = error as Error;
    if (name === 'States.Timeout' || name === 'States.HeartbeatTimeout') {
      this.emit('TaskTimedOut', { taskTimedOutEventDetails: { ...base, error: name, cause: causeText(error as Error) } }, state);
    } else {
      this.emit('TaskFailed', { taskFailedEventDetails: { ...base, error: name, cause: causeText(error as Error) } }, state);
    }
  }

  private async invokeHandler(functionName: string, arn: string, payload: unknown): Promise<unknown> {
    const handler = this.env.handlers[functionName];
    if (!handler) throw functionNotFound(arn);
    const paying = this.payInvocation(functionName);
    if (paying) await paying;
    return this.callHandler(handler, payload);
  }

  /** Handlers see and return JSON, as through Lambda's wire format; their errors become Lambda errors. */
  private async callHandler(handler: Handler, payload: unknown): Promise<unknown> {
    let result: unknown;
    try {
      result = await handler(roundTrip(payload));
    } catch (thrown) {
      throw lambdaFailure(thrown);
    }
    return roundTrip(result ?? null);
  }

  private withTimeout<T>(work: Promise<T>, seconds: number | undefined): Promise<T> {
    let onStop: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      onStop = (): void => reject(new ExecutionStoppedError('execution stopped'));
      if (this.stop.signal.aborted) onStop();
      else this.stop.signal.addEventListener('abort', onStop, { once: true });
    });
    stopped.catch(() => undefined);
    // Every task adds a listener to the execution's one stop signal: remove it when the task ends.
    const release = () => this.stop.signal.removeEventListener('abort', onStop!);
    if (seconds === undefined) return Promise.race([work, stopped]).finally(release);
    let timer: VirtualTimer | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = new VirtualTimer(this.env.clock, seconds, () => this.timeOutWith(reject));
    });
    return Promise.race([work, stopped, timedOut]).finally(() => {
      timer?.cancel();
      release();
    });
  }

  /**
   * Delivers States.Timeout. The clock is held until it is delivered: making the first error takes
   * a real millisecond (see statesTimeoutError), and time must not move on meanwhile — a `.sync`
   * child asleep in a Wait would otherwise finish "before" a timeout that already fired.
   */
  private timeOutWith(reject: (error: Error) => void): void {
    this.env.clock.enter();
    void statesTimeoutError()
      .then(reject)
      .finally(() => this.env.clock.leave());
  }

  // ---------------------------------------------------------------- latency on the virtual clock

  /**
   * Sleeps what the transitions since the last charge cost, on the calling thread's actor (or the
   * execution's, at the end). Each `pay…` returns undefined when there is nothing to charge, so a
   * sandbox without latencies runs exactly as before — not even a microtask later.
   */
  private payTransitions(): Promise<void> | undefined {
    const count = this.unchargedTransitions;
    this.unchargedTransitions = 0;
    const latency = this.env.latency;
    if (!latency || latency.free || count === 0 || this.closed) return undefined;
    return this.spend(latency.stateTransitions(count));
  }

  /** A Lambda invocation's cost (cold the first time each function runs), before the handler starts. */
  private payInvocation(functionName: string): Promise<void> | undefined {
    const latency = this.env.latency;
    if (!latency || latency.free) return undefined;
    return this.spend(latency.lambdaInvoke(functionName));
  }

  /** Spends a latency on the clock; a stop ends it early, rejecting with the stop's reason (as interruptibleSleep does). */
  private spend(seconds: number): Promise<void> {
    const signal = this.stop.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return this.env.clock.spend(seconds, signal).catch(() => Promise.reject(signal.reason ?? new ExecutionStoppedError('execution stopped')));
  }

  /** An AWS API call Step Functions makes itself (an optimized or SDK integration). */
  private payApiCall(api: string, operation: string): Promise<void> | undefined {
    const latency = this.env.latency;
    if (!latency || latency.free) return undefined;
    return this.spend(latency.apiCall(api, operation));
  }

  // ---------------------------------------------------------------- Retry on the virtual clock

  /**
   * Mirrors the runner's Retry matching at the moment we throw, so the next invocation of this
   * state knows it is a retry and how long to back off; the runner's own pause is zero.
   */
  private noteFailure(plan: StatePlan, error: Error): void {
    const retriers = plan.state.Retry ?? [];
    const memory = this.retries.get(plan.name) ?? { attempts: retriers.map(() => 0) };
    const index = retriers.findIndex((r) => retrierMatches(r, error));
    const retrier = retriers[index];
    if (!retrier || memory.attempts[index]! >= (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
      this.retries.delete(plan.name);
      return;
    }
    memory.pendingDelay = backoffSeconds(retrier, memory.attempts[index]!);
    memory.attempts[index]! += 1;
    this.retries.set(plan.name, memory);
  }

  private async retryPause(stateName: string): Promise<void> {
    const memory = this.retries.get(stateName);
    if (memory?.pendingDelay === undefined) return;
    const seconds = memory.pendingDelay;
    memory.pendingDelay = undefined;
    await interruptibleSleep(this.env.clock, seconds, this.stop.signal);
  }

  // ---------------------------------------------------------------- closing

  private terminate(request: StopRequest): void {
    if (this.closed) return;
    this.stopRequest = request;
    this.finish({ ok: false, error: undefined });
    this.stop.abort(new ExecutionStoppedError('execution stopped'));
    this.abortRunner?.();
  }

  private finish(outcome: Outcome): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline?.cancel();
    this.record.stopDate = this.env.clock.now();
    try {
      this.closeWith(outcome);
    } finally {
      // Whatever happened recording the last event, the execution is closed: release the clock and its waiters.
      this.stop.abort(new ExecutionStoppedError('execution closed'));
      this.syncActors();
      this.resolveFinished(this.record);
    }
  }

  private closeWith(outcome: Outcome): void {
    const stop = this.stopRequest;
    if (stop?.kind === 'abort') {
      this.close('ABORTED', { error: stop.error, cause: stop.cause });
      this.emitClosing('ExecutionAborted', { executionAbortedEventDetails: { error: stop.error, cause: stop.cause } });
      return;
    }
    if (stop?.kind === 'timeout') {
      const cause = `The execution timed out after ${this.machine.timeoutSeconds} seconds`;
      this.close('TIMED_OUT', { error: 'States.Timeout', cause });
      this.emitClosing('ExecutionTimedOut', { executionTimedOutEventDetails: { error: 'States.Timeout', cause } });
      return;
    }
    if (outcome.ok) {
      let output: string | undefined;
      try {
        output = json(outcome.value);
      } catch (error) {
        outcome = { ok: false, error: recordingFailure(error) };
      }
      if (output !== undefined) {
        this.record.output = output;
        this.close('SUCCEEDED', {});
        this.emitClosing('ExecutionSucceeded', { executionSucceededEventDetails: { output, outputDetails: { truncated: false } } });
        return;
      }
    }
    const failure = this.describeFailure(outcome.ok ? undefined : outcome.error);
    this.close('FAILED', failure);
    this.emitClosing('ExecutionFailed', { executionFailedEventDetails: failure });
  }

  /**
   * The closing event is in the history once recorded; a listener that throws on it cannot
   * reopen the execution, so its failure is not the execution's.
   */
  private emitClosing(type: string, details: Partial<HistoryEvent>): void {
    try {
      this.emit(type, details);
    } catch {
      // The record and the history already say how the execution ended.
    }
  }

  private close(status: ExecutionStatus, failure: { error?: string; cause?: string }): void {
    this.record.status = status;
    if (failure.error !== undefined) this.record.error = failure.error;
    if (failure.cause !== undefined) this.record.cause = failure.cause;
  }

  /**
   * The runner wraps the failing error in ExecutionError.cause. A Fail state without Error/Cause
   * gets runner defaults ("FailStateError", a stock message) that AWS would leave empty.
   */
  private describeFailure(thrown: unknown): { error?: string; cause?: string } {
    const error = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause : (thrown as Error | undefined);
    if (!error) return { error: 'States.Runtime' };
    // The runner's own code gave way (a value too deep for it, say): no ASL error, an execution
    // Step Functions could not go on with — States.Runtime. Handlers' errors arrive as StatesTaskError.
    if (isInternalError(error)) return { error: 'States.Runtime', cause: `The execution could not continue: ${error.name}: ${error.message}` };
    const fail = this.failState?.state;
    if (fail && (fail.ErrorPath !== undefined || error.name === (fail.Error ?? 'FailStateError'))) {
      return {
        error: fail.Error !== undefined || fail.ErrorPath !== undefined ? error.name : undefined,
        cause: fail.Cause !== undefined || fail.CausePath !== undefined ? error.message : undefined,
      };
    }
    return { error: error.name, cause: causeText(error) };
  }
}

// ------------------------------------------------------------------ task tokens

export interface TokenWaiter extends PendingTask {
  result: Promise<unknown>;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  onHeartbeat?: () => void;
}

export class UnknownTaskTokenError extends Error {
  override name = 'UnknownTaskTokenError';
  constructor(
    readonly reason: 'invalid' | 'unknown' | 'closed',
    token: string,
  ) {
    super(`task token ${reason}: ${token.slice(0, 16)}…`);
  }
}

const TOKEN_PATTERN = /^AQB[A-Za-z0-9_-]{96}$/;

function mintTaskToken(): string {
  return `AQB${randomBytes(72).toString('base64url')}`;
}

/** The open callback tokens of every execution; closed ones are remembered to answer like AWS. */
export class TaskTokens {
  private readonly open_ = new Map<string, TokenWaiter>();
  private readonly closed = new Set<string>();

  open(task: PendingTask): TokenWaiter {
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const result = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => undefined);
    const waiter: TokenWaiter = { ...task, result, resolve, reject };
    this.open_.set(task.token, waiter);
    return waiter;
  }

  close(token: string): void {
    if (this.open_.delete(token)) this.closed.add(token);
  }

  /** Finds an open task; throws UnknownTaskTokenError saying why not. */
  get(token: string): TokenWaiter {
    const waiter = this.open_.get(token);
    if (waiter) return waiter;
    if (this.closed.has(token)) throw new UnknownTaskTokenError('closed', token);
    throw new UnknownTaskTokenError(TOKEN_PATTERN.test(token) ? 'unknown' : 'invalid', token);
  }

  pending(): PendingTask[] {
    return [...this.open_.values()].map(({ token, executionArn, stateName, input }) => ({ token, executionArn, stateName, input }));
  }
}

// ------------------------------------------------------------------ small helpers

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function roundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null)) as unknown;
}

/** A throw while recording the history or telling listeners: the execution fails with States.Runtime. */
function recordingFailure(thrown: unknown): StatesTaskError {
  const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  return new StatesTaskError('States.Runtime', `An error occurred while recording the execution's history: ${what}`);
}

/** A JavaScript engine error thrown by the runner itself (exactly RangeError, TypeError, ReferenceError), not a state's error. */
function isInternalError(error: Error): boolean {
  const proto = Object.getPrototypeOf(error) as unknown;
  return proto === RangeError.prototype || proto === TypeError.prototype || proto === ReferenceError.prototype;
}

function causeText(error: Error): string | undefined {
  return error.message === '' || error.message === error.name ? undefined : error.message;
}

function replaceDeep(value: unknown, needle: string, replacement: string): unknown {
  if (typeof value === 'string') return value.split(needle).join(replacement);
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, needle, replacement));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceDeep(v, needle, replacement)]));
  }
  return value;
}

function retrierMatches(retrier: AslRetrier, error: Error): boolean {
  const isTimeout = error.name === 'States.Timeout';
  return retrier.ErrorEquals.some(
    (name) => name === error.name || name === 'States.ALL' || (name === 'States.TaskFailed' && !isTimeout),
  );
}

function backoffSeconds(retrier: AslRetrier, attempt: number): number {
  const interval = (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * Math.pow(retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE, attempt);
  const capped = retrier.MaxDelaySeconds !== undefined ? Math.min(interval, retrier.MaxDelaySeconds) : interval;
  return retrier.JitterStrategy === 'FULL' ? Math.random() * capped : capped;
}

function positiveNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new StatesTaskError('States.Runtime', `${what} must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function taskTimeoutSeconds(state: AslState, input: unknown): number | undefined {
  if (state.TimeoutSeconds !== undefined) return state.TimeoutSeconds;
  if (state.TimeoutSecondsPath) return positiveNumber(readPath(state.TimeoutSecondsPath, input), 'TimeoutSecondsPath');
  return undefined;
}

function heartbeatSeconds(state: AslState, input: unknown): number | undefined {
  if (state.HeartbeatSeconds !== undefined) return state.HeartbeatSeconds;
  if (state.HeartbeatSecondsPath) return positiveNumber(readPath(state.HeartbeatSecondsPath, input), 'HeartbeatSecondsPath');
  return undefined;
}

/** Seconds a Wait state pauses, with Timestamp/TimestampPath measured against the virtual clock. */
export function waitSeconds(state: AslState, input: unknown, nowMs: number): number {
  if (state.Seconds !== undefined) return state.Seconds;
  if (state.SecondsPath) return positiveNumber(readPath(state.SecondsPath, input), 'SecondsPath');
  const timestamp = state.Timestamp ?? (state.TimestampPath ? readPath(state.TimestampPath, input) : undefined);
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(at)) throw new StatesTaskError('States.Runtime', `Wait state has no usable duration (${JSON.stringify(timestamp)})`);
  return Math.max(0, (at - nowMs) / 1000);
}

function mapLength(plan: StatePlan, input: unknown): number | undefined {
  try {
    const effective = typeof plan.state.InputPath === 'string' ? readPath(plan.state.InputPath, input) : input;
    const items = typeof plan.state.ItemsPath === 'string' ? readPath(plan.state.ItemsPath, effective) : effective;
    return Array.isArray(items) ? items.length : undefined;
  } catch {
    return undefined;
  }
}

function functionOf(parameters: unknown, env: ExecutionEnv): { functionName: string; arn: string } {
  const raw = (parameters as { FunctionName?: unknown } | null)?.FunctionName;
  if (typeof raw !== 'string') throw new StatesTaskError('States.Runtime', 'lambda:invoke needs Parameters.FunctionName');
  const functionName = raw.startsWith('arn:') ? (raw.split(':')[6] ?? raw) : raw.replace(/^function:/, '').split(':')[0]!;
  const arn = raw.startsWith('arn:') ? raw : `arn:aws:lambda:${env.region}:${env.accountId}:function:${functionName}`;
  return { functionName, arn };
}

function payloadOf(parameters: unknown): unknown {
  const obj = parameters as { Payload?: unknown } | null;
  return obj && 'Payload' in obj ? obj.Payload : parameters;
}

/** What arn:aws:states:::lambda:invoke returns around the function's answer. */
function lambdaInvokeResult(payload: unknown): unknown {
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: 'sandbox' },
    StatusCode: 200,
  };
}

function isStartExecution(resource: Extract<TaskResource, { type: 'integration' }>): boolean {
  return resource.service === 'states' && resource.action === 'startExecution';
}

/** What arn:aws:states:::states:startExecution returns: the API's answer in PascalCase, dates in epoch milliseconds. */
function startExecutionResult(child: Execution): unknown {
  return {
    ExecutionArn: child.record.executionArn,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: 'sandbox' },
    StartDate: child.record.startDate.getTime(),
  };
}

/**
 * DescribeExecution's answer as a `.sync` task reports it: PascalCase keys in alphabetical order,
 * dates in epoch milliseconds, absent fields left out; `.sync:2` gives Input and Output as JSON
 * values, `.sync` as the JSON text the API returns.
 */
function describedForTask(described: DescribeExecutionOutput, parsePayloads: boolean): Record<string, unknown> {
  const pascal = pascalCase(described) as Record<string, unknown>;
  if (parsePayloads) {
    for (const key of ['Input', 'Output']) {
      if (typeof pascal[key] === 'string') pascal[key] = JSON.parse(pascal[key]) as unknown;
    }
  }
  return pascal;
}

function pascalCase(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(pascalCase);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value)
    .filter(([key, v]) => v !== undefined && key !== '$metadata')
    .map(([key, v]): [string, unknown] => [key.charAt(0).toUpperCase() + key.slice(1), pascalCase(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
