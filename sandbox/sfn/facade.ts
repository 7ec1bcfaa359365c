import './polyfill.ts';
import type {
  DescribeExecutionOutput,
  DescribeStateMachineOutput,
  ExecutionListItem,
  GetExecutionHistoryOutput,
  HistoryEvent,
  ListExecutionsOutput,
  ListStateMachinesOutput,
  StartExecutionOutput,
  StopExecutionOutput,
} from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { SimClock } from '#sandbox/clock';
import { AwsServiceError, type AwsJsonService } from '#sandbox/http';
import { stateMachineArn, type AslDefinition, type ExtractedMachine } from './asl.ts';
import { StatesTaskError } from './errors.ts';
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
    const registered = this.machineOf(requireString(body, 'stateMachineArn'));
    const input = optionalString(body, 'input') ?? '{}';
    validateInput(input);
    const name = optionalString(body, 'name') ?? this.nextExecutionName();
    validateName(name);
    const executionArn = `arn:aws:states:${this.opts.region}:${this.opts.accountId}:execution:${registered.machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Standard workflows: a repeated start of a running execution with identical input is idempotent.
      if (existing.record.status === 'RUNNING' && existing.record.input === input) {
        return { executionArn, startDate: existing.record.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const execution = new Execution(this.env(), registered.prepared, {
      executionArn,
      stateMachineArn: registered.machine.arn,
      stateMachineName: registered.machine.name,
      name,
      input,
    });
    this.executions.set(executionArn, execution);
    execution.start();
    return { executionArn, startDate: execution.record.startDate };
  }

  private env(): ConstructorParameters<typeof Execution>[0] {
    return {
      clock: this.opts.clock,
      region: this.opts.region,
      accountId: this.opts.accountId,
      handlers: this.opts.handlers,
      tokens: this.tokens,
      onEvent: (event, record) => this.listeners.forEach((listener) => listener(event, record)),
    };
  }

  /** Deterministic, uuid-shaped names so drills and tests replay identically. */
  private nextExecutionName(): string {
    this.executionCounter += 1;
    return `00000000-0000-4000-8000-${this.executionCounter.toString(16).padStart(12, '0')}`;
  }

  private describeExecution(body: Record<string, unknown>): DescribeExecutionOutput {
    const record = this.wireExecution(body).record;
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
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  private listExecutions(body: Record<string, unknown>): ListExecutionsOutput {
    const machineArn = requireString(body, 'stateMachineArn');
    this.machineOf(machineArn);
    const statusFilter = optionalString(body, 'statusFilter');
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

  private sendTaskSuccess(body: Record<string, unknown>): Record<string, never> {
    const waiter = this.openTask(body);
    const output = requireString(body, 'output');
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new AwsServiceError('InvalidOutput', 'Invalid State Machine Execution Output');
    }
    waiter.resolve(parsed);
    this.tokens.close(waiter.token);
    return {};
  }

  private sendTaskFailure(body: Record<string, unknown>): Record<string, never> {
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

function listItem(record: ExecutionRecord): ExecutionListItem {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: record.startDate,
    stopDate: record.stopDate,
    redriveCount: 0,
  };
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: '${field}' must not be null`);
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
    throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
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
}

/** nextToken is an opaque offset; a token we did not issue is InvalidToken, as in AWS. */
function paginate<T>(all: T[], body: Record<string, unknown>): { items: T[]; nextToken?: string } {
  const requested = typeof body.maxResults === 'number' && body.maxResults > 0 ? body.maxResults : DEFAULT_PAGE_SIZE;
  const size = Math.min(requested, MAX_PAGE_SIZE);
  let offset = 0;
  const token = optionalString(body, 'nextToken');
  if (token !== undefined) {
    const match = /^sandbox-page-(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!match) throw new AwsServiceError('InvalidToken', 'Invalid Token');
    offset = Number(match[1]);
  }
  const items = all.slice(offset, offset + size);
  const next = offset + size < all.length ? Buffer.from(`sandbox-page-${offset + size}`).toString('base64url') : undefined;
  return { items, nextToken: next };
}

export { extractStateMachines, type CloudFormationTemplate, type ExtractedMachine } from './asl.ts';
