import './polyfill.ts';
import type {
  DescribeExecutionOutput,
  DescribeStateMachineOutput,
  ExecutionListItem,
  GetExecutionHistoryOutput,
  HistoryEvent,
  ListExecutionsOutput,
  ListStateMachinesOutput,
  RedriveExecutionOutput,
  StartExecutionOutput,
  StopExecutionOutput,
} from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { SimClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';
import type { Latency } from '#sandbox/latency';
import { stateMachineArn, type AslDefinition, type ExtractedMachine } from './asl.ts';
import { functionNotFound, lambdaFailure, StatesTaskError } from './errors.ts';
import {
  Execution,
  TaskTokens,
  UnknownTaskTokenError,
  type ExecutionRecord,
  type Handlers,
  type PendingTask,
} from './execution.ts';
import { prepareMachine, type PreparedMachine } from './plan.ts';

export type { ExecutionRecord, ExecutionStatus, Handler, Handlers, PendingTask } from './execution.ts';

export interface SfnFacadeOptions {
  clock: SimClock;
  region: string;
  accountId: string;
  /** Keyed by Lambda function name (the `incident-flows:handler` tag); `service:action` for other integrations. */
  handlers: Handlers;
  /**
   * Check each definition with asl-validator when it is added (default true). It costs ~200 ms
   * per machine, so tests that register many hand-written machines may turn it off.
   */
  validate?: boolean;
  /**
   * What Step Functions and Lambda cost on the clock: each state transition, each Lambda invocation
   * (cold the first time), each integration's API call (sandbox/latency.ts). None when absent.
   */
  latency?: Latency;
}

export type SfnEventListener = (event: HistoryEvent, execution: ExecutionRecord) => void;

interface RegisteredMachine {
  machine: ExtractedMachine;
  prepared: PreparedMachine;
  creationDate: Date;
}

const MAX_NAME_LENGTH = 80;
/** AWS: no whitespace, brackets, wildcards, these specials, or control characters. */
const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_INPUT_BYTES = 256 * 1024;
/**
 * Deepest JSON an execution accepts (input, SendTaskSuccess output). AWS documents no depth limit,
 * but every layer of the sandbox walks JSON recursively (the runner, JSON.stringify of history
 * events): 40,000 levels once left an execution RUNNING forever with the virtual clock frozen, and
 * ~3,000 crashed the process. Real inputs are a few levels deep; refusing at the door is an
 * answer the caller can read.
 */
export const MAX_JSON_DEPTH = 200;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export class InvalidDefinitionError extends Error {
  override name = 'InvalidDefinitionError';
}

function validateDefinition(machine: ExtractedMachine): void {
  try {
    // Validation only; runs use the rewritten definition without re-validating (it is slow).
    new StateMachine(machine.definition as unknown as StateMachineDefinition, {
      validationOptions: { checkPaths: false, checkArn: false },
    });
  } catch (err) {
    throw new InvalidDefinitionError(`${machine.name}: ${(err as Error).message}`);
  }
}

export class UnknownExecutionError extends Error {
  override name = 'UnknownExecutionError';
}

/**
 * Step Functions for the sandbox: the awsJson1_0 API the SDK speaks (register `handle` under the
 * `AWSStepFunctions` target prefix) plus a programmatic API for drills and tests.
 */
export class SfnFacade {
  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new TaskTokens();
  private readonly listeners = new Set<SfnEventListener>();
  private executionCounter = 0;

  constructor(private readonly opts: SfnFacadeOptions) {}

  /** Registers a machine; throws InvalidDefinitionError if asl-validator rejects it. */
  addStateMachine(machine: ExtractedMachine): void {
    if (this.opts.validate !== false) validateDefinition(machine);
    this.machines.set(machine.arn, { machine, prepared: prepareMachine(machine.definition), creationDate: this.opts.clock.now() });
  }

  /** Convenience for tests: register a hand-written definition under `name`. */
  addDefinition(name: string, definition: AslDefinition): ExtractedMachine {
    const machine = { name, logicalId: name, arn: stateMachineArn(this.opts, name), definition };
    this.addStateMachine(machine);
    return machine;
  }

  // ---------------------------------------------------------------- programmatic API

  /**
   * Invokes the Lambda function the sandbox runs as `functionName` (a handler name, e.g. "assess",
   * or its function ARN) the way Lambda's Invoke would: the payload and the answer go through JSON,
   * and a throw comes back as an error named after the handler's errorType, with Lambda's
   * {"errorType","errorMessage"} as its message. For tests that hand a handler any event.
   */
  /** A function the sandbox builds after the facade (e.g. escalate-incident, which needs the incident settings). */
  registerHandler(name: string, handler: Handlers[string]): void {
    this.opts.handlers[name] = handler;
  }

  async invokeFunction(functionName: string, payload: unknown): Promise<unknown> {
    const name = functionName.startsWith('arn:') ? (functionName.split(':')[6] ?? functionName) : functionName;
    const handler = Object.hasOwn(this.opts.handlers, name) ? this.opts.handlers[name] : undefined;
    const arn = functionName.startsWith('arn:') ? functionName : `arn:aws:lambda:${this.opts.region}:${this.opts.accountId}:function:${name}`;
    if (!handler) throw functionNotFound(arn);
    let event: unknown;
    try {
      event = JSON.parse(JSON.stringify(payload ?? null)) as unknown;
    } catch (err) {
      throw new StatesTaskError('Lambda.InvalidRequestContentException', `Could not parse request body into json: ${(err as Error).message}`);
    }
    let result: unknown;
    try {
      result = await handler(event);
    } catch (thrown) {
      throw lambdaFailure(thrown);
    }
    return JSON.parse(JSON.stringify(result ?? null)) as unknown;
  }

  /** Starts an execution of the machine called `machineName`; `input` is any JSON value. */
  start(machineName: string, input: unknown = {}, name?: string): string {
    const arn = stateMachineArn(this.opts, machineName);
    return this.startExecution({ stateMachineArn: arn, input: JSON.stringify(input), name }).executionArn!;
  }

  /** Resolves when the execution closes (any terminal status). */
  wait(executionArn: string): Promise<ExecutionRecord> {
    return this.executionOf(executionArn).done;
  }

  /** Fires the execution's own timeout now: TIMED_OUT, no Catch runs — as when TimeoutSeconds passes. */
  timeOut(executionArn: string): void {
    const execution = this.executionOf(executionArn);
    if (execution.record.status === 'RUNNING') execution.timeOut();
  }

  execution(executionArn: string): ExecutionRecord {
    return this.executionOf(executionArn).record;
  }

  history(executionArn: string): HistoryEvent[] {
    return [...this.executionOf(executionArn).events];
  }

  /** Called for every history event as it is recorded; returns an unsubscribe function. */
  onEvent(listener: SfnEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Callback tasks currently waiting for SendTaskSuccess/Failure. */
  pendingTasks(): PendingTask[] {
    return this.tokens.pending();
  }

  listExecutionRecords(): ExecutionRecord[] {
    return [...this.executions.values()].map((e) => e.record);
  }

  private executionOf(executionArn: string): Execution {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new UnknownExecutionError(`no execution ${executionArn}`);
    return execution;
  }

  // ---------------------------------------------------------------- wire API

  readonly handle: AwsJsonService = (operation, body) => {
    // The SDK always sends an object; a bare null, array, string or number is not a request.
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new AwsServiceError('SerializationException', `the request body must be a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
    }
    switch (operation) {
      case 'ListStateMachines':
        return this.listStateMachines(body);
      case 'DescribeStateMachine':
        return this.describeStateMachine(body);
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(body);
      case 'ListExecutions':
        return this.listExecutions(body);
      case 'GetExecutionHistory':
        return this.getExecutionHistory(body);
      case 'StopExecution':
        return this.stopExecution(body);
      case 'RedriveExecution':
        return this.redriveExecution(body);
      case 'SendTaskSuccess':
        return this.sendTaskSuccess(body);
      case 'SendTaskFailure':
        return this.sendTaskFailure(body);
      case 'SendTaskHeartbeat':
        return this.sendTaskHeartbeat(body);
      default:
        throw new AwsServiceError('UnknownOperationException', `sandbox SFN does not implement ${operation}`);
    }
  };

  private listStateMachines(body: Record<string, unknown>): ListStateMachinesOutput {
    const all = [...this.machines.values()].sort((a, b) => a.machine.name.localeCompare(b.machine.name));
    const { items, nextToken } = paginate(all, body);
    return {
      stateMachines: items.map(({ machine, creationDate }) => ({
        stateMachineArn: machine.arn,
        name: machine.name,
        type: 'STANDARD',
        creationDate,
      })),
      nextToken,
    };
  }

  private describeStateMachine(body: Record<string, unknown>): DescribeStateMachineOutput {
    const { machine, creationDate } = this.machineOf(requireString(body, 'stateMachineArn'));
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: JSON.stringify(machine.definition),
      roleArn: `arn:aws:iam::${this.opts.accountId}:role/sandbox-${machine.name}`,
      type: 'STANDARD',
      creationDate,
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  private startExecution(body: Record<string, unknown>): StartExecutionOutput {
    const execution = this.launch(body);
    return { executionArn: execution.record.executionArn, startDate: execution.record.startDate };
  }

  /**
   * StartExecution's work: the started execution, or the running one an identical request names.
   * `parentExecutionArn` is the execution whose `states:startExecution` Task asks.
   */
  private launch(body: Record<string, unknown>, parentExecutionArn?: string): Execution {
    const registered = this.machineOf(requireString(body, 'stateMachineArn'));
    const input = optionalString(body, 'input') ?? '{}';
    validateInput(input);
    const name = optionalString(body, 'name') ?? this.nextExecutionName();
    validateName(name);
    const executionArn = `arn:aws:states:${this.opts.region}:${this.opts.accountId}:execution:${registered.machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Standard workflows: a repeated start of a running execution with identical input is idempotent.
      if (existing.record.status === 'RUNNING' && existing.record.input === input) return existing;
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution = new Execution(this.env(), registered.prepared, {
      executionArn,
      stateMachineArn: registered.machine.arn,
      stateMachineName: registered.machine.name,
      name,
      input,
      ...(parentExecutionArn !== undefined ? { parentExecutionArn } : {}),
    });
    this.executions.set(executionArn, execution);
    execution.start();
    return execution;
  }

  private env(): ConstructorParameters<typeof Execution>[0] {
    return {
      clock: this.opts.clock,
      region: this.opts.region,
      accountId: this.opts.accountId,
      handlers: this.opts.handlers,
      tokens: this.tokens,
      nested: {
        start: (request, parentExecutionArn) => this.launch(request, parentExecutionArn),
        describe: (execution) => this.describe(execution),
      },
      onEvent: (event, record) => this.listeners.forEach((listener) => listener(event, record)),
      ...(this.opts.latency ? { latency: this.opts.latency } : {}),
    };
  }

  /** Deterministic, uuid-shaped names so drills and tests replay identically. */
  private nextExecutionName(): string {
    this.executionCounter += 1;
    return `00000000-0000-4000-8000-${this.executionCounter.toString(16).padStart(12, '0')}`;
  }

  private describeExecution(body: Record<string, unknown>): DescribeExecutionOutput {
    return this.describe(this.wireExecution(body));
  }

  private describe(execution: Execution): DescribeExecutionOutput {
    const record = execution.record;
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: record.startDate,
      stopDate: record.stopDate,
      input: record.input,
      inputDetails: { included: true },
      output: record.output,
      outputDetails: record.output !== undefined ? { included: true } : undefined,
      error: record.error,
      cause: record.cause,
      redriveCount: record.redriveCount ?? 0,
      redriveDate: record.redriveDate,
      ...redriveStatus(execution, this.opts.clock.now()),
    };
  }

  private listExecutions(body: Record<string, unknown>): ListExecutionsOutput {
    const machineArn = requireString(body, 'stateMachineArn');
    this.machineOf(machineArn);
    const statusFilter = optionalString(body, 'statusFilter');
    if (statusFilter !== undefined && !EXECUTION_STATUSES.has(statusFilter)) {
      throw new AwsServiceError('ValidationException', `1 validation error detected: Value '${statusFilter.slice(0, 40)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${[...EXECUTION_STATUSES].join(', ')}]`);
    }
    // Newest first; insertion order breaks ties between executions started at the same instant.
    const matching = [...this.executions.values()]
      .map((e, order) => ({ record: e.record, order }))
      .filter(({ record }) => record.stateMachineArn === machineArn && (!statusFilter || record.status === statusFilter))
      .sort((a, b) => b.record.startDate.getTime() - a.record.startDate.getTime() || b.order - a.order)
      .map(({ record }) => record);
    const { items, nextToken } = paginate(matching, body);
    return { executions: items.map(listItem), nextToken };
  }

  private getExecutionHistory(body: Record<string, unknown>): GetExecutionHistoryOutput {
    const events = [...this.wireExecution(body).events];
    if (body.reverseOrder === true) events.reverse();
    const { items, nextToken } = paginate(events, body);
    return { events: items, nextToken };
  }

  private stopExecution(body: Record<string, unknown>): StopExecutionOutput {
    const execution = this.wireExecution(body);
    if (execution.record.status === 'RUNNING') {
      execution.abort(optionalString(body, 'error'), optionalString(body, 'cause'));
    }
    return { stopDate: execution.record.stopDate ?? this.opts.clock.now() };
  }

  /**
   * RedriveExecution (API reference; Developer Guide, "Redriving executions"): a FAILED, TIMED_OUT
   * or ABORTED execution resumes at its unsuccessful top-level state under the same ARN, with the
   * same input, its history kept and the execution timeout counted again from zero. A RUNNING or
   * SUCCEEDED execution, or one that closed more than 14 days ago, is refused.
   */
  private redriveExecution(body: Record<string, unknown>): RedriveExecutionOutput {
    const previous = this.wireExecution(body);
    const refused = notRedrivable(previous, this.opts.clock.now());
    if (refused) throw new AwsServiceError('ExecutionNotRedrivable', refused);
    const registered = this.machineOf(previous.record.stateMachineArn);
    const { executionArn, stateMachineArn, stateMachineName, name, input, startDate, redriveCount, parentExecutionArn } = previous.record;
    // Stopped before its first state was entered: the redrive starts at the beginning.
    const point = previous.redrivePoint() ?? { startAt: registered.prepared.runnable.StartAt, stateInput: JSON.parse(input) as unknown };
    const record = { executionArn, stateMachineArn, stateMachineName, name, input, ...(parentExecutionArn !== undefined ? { parentExecutionArn } : {}) };
    const execution = new Execution(this.env(), registered.prepared, record, {
      events: previous.events,
      startDate,
      redriveCount: (redriveCount ?? 0) + 1,
      ...point,
    });
    this.executions.set(executionArn, execution);
    execution.start();
    return { redriveDate: execution.record.redriveDate ?? this.opts.clock.now() };
  }

  private sendTaskSuccess(body: Record<string, unknown>): Record<string, never> {
    const waiter = this.openTask(body);
    const output = requireString(body, 'output');
    if (Buffer.byteLength(output) > MAX_INPUT_BYTES) {
      throw new AwsServiceError('ValidationException', `1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INPUT_BYTES}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new AwsServiceError('InvalidOutput', 'Invalid State Machine Execution Output');
    }
    const depth = jsonDepth(output);
    if (depth > MAX_JSON_DEPTH) throw new AwsServiceError('InvalidOutput', `Invalid State Machine Execution Output: nested ${depth} levels deep, deeper than ${MAX_JSON_DEPTH}`);
    waiter.resolve(parsed);
    this.tokens.close(waiter.token);
    return {};
  }

  private sendTaskFailure(body: Record<string, unknown>): Record<string, never> {
    // AWS: error up to 256 characters, cause up to 32,768.
    for (const [field, max] of [['error', 256], ['cause', 32_768]] as const) {
      const value = optionalString(body, field);
      if (value !== undefined && value.length > max) {
        throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
      }
    }
    const waiter = this.openTask(body);
    waiter.reject(new StatesTaskError(optionalString(body, 'error') ?? '', optionalString(body, 'cause') ?? ''));
    this.tokens.close(waiter.token);
    return {};
  }

  private sendTaskHeartbeat(body: Record<string, unknown>): Record<string, never> {
    this.openTask(body).onHeartbeat?.();
    return {};
  }

  /** AWS's answers: malformed → InvalidToken, never issued → TaskDoesNotExist, already closed → TaskTimedOut. */
  private openTask(body: Record<string, unknown>): ReturnType<TaskTokens['get']> {
    const token = requireString(body, 'taskToken');
    try {
      return this.tokens.get(token);
    } catch (err) {
      if (!(err instanceof UnknownTaskTokenError)) throw err;
      if (err.reason === 'invalid') throw new AwsServiceError('InvalidToken', 'Invalid token');
      if (err.reason === 'closed') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
      throw new AwsServiceError('TaskDoesNotExist', 'Task does not exist');
    }
  }

  private machineOf(arn: string): RegisteredMachine {
    const registered = this.machines.get(arn);
    if (!registered) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return registered;
  }

  private wireExecution(body: Record<string, unknown>): Execution {
    const arn = requireString(body, 'executionArn');
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }
}

/** Days a closed execution stays redrivable. */
const REDRIVABLE_DAYS = 14;
/** History events beyond which AWS refuses a redrive. */
const MAX_REDRIVE_HISTORY = 25_000;

/** Why RedriveExecution would refuse this execution (AWS's redriveStatusReason wording), or undefined. */
function notRedrivable(execution: Execution, now: Date): string | undefined {
  const { status, stopDate } = execution.record;
  if (status === 'RUNNING' || status === 'SUCCEEDED') return `Execution is ${status} and cannot be redriven`;
  if (stopDate && now.getTime() - stopDate.getTime() > REDRIVABLE_DAYS * 86_400_000) return 'Execution redrivable period exceeded';
  if (execution.events.length >= MAX_REDRIVE_HISTORY) return 'Execution history event limit exceeded';
  return undefined;
}

function redriveStatus(execution: Execution, now: Date): Pick<DescribeExecutionOutput, 'redriveStatus' | 'redriveStatusReason'> {
  const reason = notRedrivable(execution, now);
  return reason ? { redriveStatus: 'NOT_REDRIVABLE', redriveStatusReason: reason } : { redriveStatus: 'REDRIVABLE' };
}

function listItem(record: ExecutionRecord): ExecutionListItem {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: record.startDate,
    stopDate: record.stopDate,
    redriveCount: record.redriveCount ?? 0,
    ...(record.redriveDate ? { redriveDate: record.redriveDate } : {}),
  };
}

/** AWS's length limits of the string fields the sandbox reads (Step Functions API Reference). */
const MAX_LENGTH: Record<string, number> = { stateMachineArn: 256, executionArn: 256, taskToken: 2048, output: MAX_INPUT_BYTES };

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: '${field}' must not be null`);
  }
  // Checked before anything quotes the value back: a 100 KB "ARN" gets a short answer.
  const max = MAX_LENGTH[field];
  if (max !== undefined && value.length > max) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  }
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('ValidationException', `'${field}' must be a string`);
  return value;
}

function validateName(name: string): void {
  if (name.length < 1 || name.length > MAX_NAME_LENGTH || INVALID_NAME_CHARS.test(name)) {
    // Quoted back with control characters escaped and at most 80 characters: the caller may print it to a terminal.
    const shown = JSON.stringify(name.slice(0, MAX_NAME_LENGTH)).slice(1, -1);
    throw new AwsServiceError('InvalidName', `Invalid Name: '${shown}'${name.length > MAX_NAME_LENGTH ? ` (… ${name.length} characters)` : ''}`);
  }
}

function validateInput(input: string): void {
  if (Buffer.byteLength(input) > MAX_INPUT_BYTES) {
    throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input exceeds 262144 bytes');
  }
  try {
    JSON.parse(input);
  } catch (err) {
    throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(err as Error).message}'`);
  }
  const depth = jsonDepth(input);
  if (depth > MAX_JSON_DEPTH) {
    throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: nested ${depth} levels deep, deeper than ${MAX_JSON_DEPTH}`);
  }
}

/**
 * How deep valid JSON text nests (arrays and objects), in one pass and without recursion: deep
 * input must not be able to exhaust the stack of the very check that refuses it.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** nextToken is an opaque offset; a token we did not issue is InvalidToken, as in AWS. */
function paginate<T>(all: T[], body: Record<string, unknown>): { items: T[]; nextToken?: string } {
  const requested = maxResultsOf(body);
  const size = Math.min(requested || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  let offset = 0;
  const token = optionalString(body, 'nextToken');
  if (token !== undefined) {
    const match = /^sandbox-page-(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    // Only offsets this listing could have issued: a forged or stale token is not an empty page.
    if (!match || Number(match[1]) > all.length) throw new AwsServiceError('InvalidToken', 'Invalid Token');
    offset = Number(match[1]);
  }
  const items = all.slice(offset, offset + size);
  const next = offset + size < all.length ? Buffer.from(`sandbox-page-${offset + size}`).toString('base64url') : undefined;
  return { items, nextToken: next };
}

/** AWS: maxResults is an integer from 0 to 1000 (0, or none, means the default page size). */
function maxResultsOf(body: Record<string, unknown>): number {
  const value = body.maxResults;
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') throw new AwsServiceError('SerializationException', `'maxResults' must be an integer, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value '${value}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and ${MAX_PAGE_SIZE}`);
  }
  return value;
}

const EXECUTION_STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

export { extractStateMachines, type CloudFormationTemplate, type ExtractedMachine } from './asl.ts';
