import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { VirtualClock } from '#sandbox/clock';
import { SandboxHttpServer } from '#sandbox/http';
import { extractStateMachines, type CloudFormationTemplate, type ExtractedMachine } from '#sandbox/sfn/asl';
import { InvalidDefinitionError, SfnFacade, type Handlers } from '#sandbox/sfn/facade';
import * as machines from '../fixtures/sfn-machines.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

/** A real (tiny) CDK stack: Task → Wait → Choice loop → Parallel, synthesized without bundling. */
function synthesizeFixtureStack(): CloudFormationTemplate {
  const app = new cdk.App();
  const stack = new cdk.Stack(app, 'SfnFixture', { env: { region: REGION, account: ACCOUNT } });
  const fn = new lambda.Function(stack, 'EchoFn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
  });
  cdk.Tags.of(fn).add('incident-flows:handler', 'echo');
  const invoke = (id: string, resultPath?: string): tasks.LambdaInvoke =>
    new tasks.LambdaInvoke(stack, id, { lambdaFunction: fn, payloadResponseOnly: true, resultPath });
  const loop = new sfn.Choice(stack, 'Stable?')
    .when(sfn.Condition.numberGreaterThanEquals('$.count', 3), new sfn.Parallel(stack, 'Verify', { resultPath: '$.checks' })
      .branch(invoke('CheckA', '$.a'))
      .branch(new sfn.Pass(stack, 'CheckB', { result: sfn.Result.fromObject({ ok: true }) }))
      .next(new sfn.Succeed(stack, 'Done')));
  const count = invoke('Count');
  const wait = new sfn.Wait(stack, 'Settle', { time: sfn.WaitTime.duration(cdk.Duration.seconds(30)) });
  loop.otherwise(count);
  count.next(wait).next(loop);
  new sfn.StateMachine(stack, 'Machine', {
    stateMachineName: 'fixture-loop',
    definitionBody: sfn.DefinitionBody.fromChainable(invoke('Start').next(loop)),
  });
  return Template.fromStack(stack).toJSON() as CloudFormationTemplate;
}

describe('SFN sandbox', () => {
  const clock = new VirtualClock();
  const calls: Record<string, number> = {};
  const handlers: Handlers = {
    echo: async (event) => {
      const e = event as { count?: number };
      return { ...e, count: (e.count ?? 0) + 1 };
    },
    flaky: async () => {
      calls.flaky = (calls.flaky ?? 0) + 1;
      if (calls.flaky <= 2) throw Object.assign(new Error('slow down'), { name: 'ThrottlingError' });
      return { attempts: calls.flaky };
    },
    risky: async (event) => {
      const kind = (event as { kind: string }).kind;
      throw Object.assign(new Error(`risky failed: ${kind}`), { name: kind === 'missing' ? 'NotFoundError' : 'BoomError' });
    },
    'request-approval': async () => ({ posted: true }),
  };
  // One validation is tested below; each costs ~200 ms, so the other machines skip it.
  const facade = new SfnFacade({ clock, region: REGION, accountId: ACCOUNT, handlers, validate: false });
  const server = new SandboxHttpServer();
  let client: SFNClient;
  let extracted: ExtractedMachine[];
  const arnOf = (name: string): string => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;

  beforeAll(async () => {
    extracted = extractStateMachines(synthesizeFixtureStack(), { region: REGION, accountId: ACCOUNT });
    extracted.forEach((m) => facade.addStateMachine(m));
    for (const [name, definition] of Object.entries(machines)) facade.addDefinition(name, definition);
    server.registerJson('AWSStepFunctions', 'sfn', '1.0', facade.handle);
    const url = await server.listen();
    client = new SFNClient({
      endpoint: url,
      region: REGION,
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function startAndWait(machine: string, input: unknown, name?: string) {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: arnOf(machine), input: JSON.stringify(input), name }),
    );
    await facade.wait(executionArn!);
    return client.send(new DescribeExecutionCommand({ executionArn }));
  }

  it('extracts the CDK machine with Lambda ARNs named after the handler tag', async () => {
    expect(extracted).toHaveLength(1);
    const [machine] = extracted;
    expect(machine!.name).toBe('fixture-loop');
    expect(machine!.arn).toBe(arnOf('fixture-loop'));
    expect(machine!.definition.States.Start!.Resource).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:echo`);
    const listed = await client.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((m) => m.name)).toContain('fixture-loop');
    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arnOf('fixture-loop') }));
    expect(JSON.parse(described.definition!).StartAt).toBe('Start');
  });

  it('rejects an invalid definition when validation is on', () => {
    const strict = new SfnFacade({ clock: new VirtualClock(), region: REGION, accountId: ACCOUNT, handlers });
    expect(() => strict.addDefinition('broken', { StartAt: 'Missing', States: {} })).toThrow(InvalidDefinitionError);
  });

  it('runs Task → Wait → Choice loop → Parallel on virtual time, with AWS-named history', async () => {
    const real = Date.now();
    const result = await startAndWait('fixture-loop', { count: 0 });
    expect(result.status).toBe('SUCCEEDED');
    const output = JSON.parse(result.output!);
    expect(output.count).toBe(3);
    expect(output.checks).toEqual([{ count: 3, a: { count: 4 } }, { ok: true }]);
    // Two passes through the 30 s Wait.
    expect((result.stopDate!.getTime() - result.startDate!.getTime()) / 1000).toBeCloseTo(60, 0);
    expect(Date.now() - real).toBeLessThan(1000);

    const history = await client.send(new GetExecutionHistoryCommand({ executionArn: result.executionArn }));
    const types = history.events!.map((e) => e.type);
    expect(types.slice(0, 7)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
    ]);
    expect(types).toContain('WaitStateEntered');
    expect(types).toContain('WaitStateExited');
    expect(types).toContain('ParallelStateStarted');
    expect(types).toContain('PassStateExited');
    expect(types.slice(-4)).toEqual(['ParallelStateExited', 'SucceedStateEntered', 'SucceedStateExited', 'ExecutionSucceeded']);
    expect(history.events!.map((e) => e.id)).toEqual(history.events!.map((_, i) => i + 1));
    expect(history.events![1]!.previousEventId).toBe(1);
    const waitEntered = history.events!.find((e) => e.type === 'WaitStateEntered')!;
    const waitExited = history.events!.find((e) => e.type === 'WaitStateExited')!;
    expect(waitExited.timestamp!.getTime() - waitEntered.timestamp!.getTime()).toBe(30_000);

    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn, reverseOrder: true, maxResults: 2 }),
    );
    expect(reversed.events!.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    const page2 = await client.send(
      new GetExecutionHistoryCommand({ executionArn: result.executionArn, reverseOrder: true, maxResults: 2, nextToken: reversed.nextToken }),
    );
    expect(page2.events!.map((e) => e.type)).toEqual(['SucceedStateEntered', 'ParallelStateExited']);
  });

  it('waits an hour of virtual time in well under a second', async () => {
    const real = Date.now();
    const result = await startAndWait('waitHour', { seconds: 3600 });
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output!)).toEqual({ seconds: 3600, result: { waited: true } });
    expect((result.stopDate!.getTime() - result.startDate!.getTime()) / 1000).toBe(3600);
    expect(Date.now() - real).toBeLessThan(500);
  });

  it('retries a named error with backoff on the virtual clock', async () => {
    calls.flaky = 0;
    const result = await startAndWait('retryThenSucceed', {});
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output!)).toEqual({ attempts: 3 });
    // IntervalSeconds 5, BackoffRate 3: 5 s then 15 s.
    expect((result.stopDate!.getTime() - result.startDate!.getTime()) / 1000).toBe(20);
    const history = facade.history(result.executionArn!);
    const failed = history.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failed).toHaveLength(2);
    expect(failed[0]!.lambdaFunctionFailedEventDetails).toEqual({
      error: 'ThrottlingError',
      cause: JSON.stringify({ errorType: 'ThrottlingError', errorMessage: 'slow down' }),
    });
  });

  it('routes Catch by error name, and fails with the Fail state’s Error and CausePath', async () => {
    const missing = await startAndWait('catchByName', { kind: 'missing' });
    expect(missing.status).toBe('SUCCEEDED');
    const out = JSON.parse(missing.output!);
    expect(out.route).toBe('missing');
    expect(out.failure.Error).toBe('NotFoundError');
    expect(JSON.parse(out.failure.Cause)).toEqual({ errorType: 'NotFoundError', errorMessage: 'risky failed: missing' });

    const boom = await startAndWait('catchByName', { kind: 'boom' });
    expect(boom.status).toBe('FAILED');
    expect(boom.error).toBe('Remediation.Broken');
    expect(JSON.parse(boom.cause!).errorType).toBe('BoomError');
  });

  it('fails a task whose function has no handler with Lambda.ResourceNotFoundException', async () => {
    const result = await startAndWait('unknownFunction', {});
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Lambda.ResourceNotFoundException');
  });

  it('times an execution out by virtual time', async () => {
    const result = await startAndWait('machineTimeout', {});
    expect(result.status).toBe('TIMED_OUT');
    expect(result.error).toBe('States.Timeout');
    expect((result.stopDate!.getTime() - result.startDate!.getTime()) / 1000).toBe(60);
    expect(facade.history(result.executionArn!).at(-1)!.type).toBe('ExecutionTimedOut');
  });

  describe('callback tasks', () => {
    /** While the test holds an actor, time cannot jump to the callback's timeout. */
    async function startApproval(name: string): Promise<{ executionArn: string; token: string }> {
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn: arnOf('approval'), name, input: JSON.stringify({ service: 'axon' }) }),
      );
      for (let i = 0; i < 50 && !facade.pendingTasks().some((t) => t.executionArn === executionArn); i++) {
        await new Promise((r) => setImmediate(r));
      }
      const task = facade.pendingTasks().find((t) => t.executionArn === executionArn);
      expect(task).toBeDefined();
      expect(task!.input).toMatchObject({ Payload: { token: task!.token, service: 'axon' } });
      expect(task!.token.length).toBeGreaterThanOrEqual(64);
      return { executionArn: executionArn!, token: task!.token };
    }

    it('resumes on SendTaskSuccess and rejects a second answer', async () => {
      clock.enter();
      try {
        const { executionArn, token } = await startApproval('approve-1');
        await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
        await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true }) }));
        const done = await facade.wait(executionArn);
        expect(done.status).toBe('SUCCEEDED');
        expect(JSON.parse(done.output!)).toEqual({ service: 'axon', decision: { approved: true } });
        await expect(
          client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
        ).rejects.toMatchObject({ name: 'TaskTimedOut' });
        await expect(client.send(new SendTaskSuccessCommand({ taskToken: 'nope', output: '{}' }))).rejects.toMatchObject({
          name: 'InvalidToken',
        });
        const types = facade.history(executionArn).map((e) => e.type);
        expect(types).toEqual([
          'ExecutionStarted',
          'TaskStateEntered',
          'TaskScheduled',
          'TaskStarted',
          'TaskSubmitted',
          'TaskSucceeded',
          'TaskStateExited',
          'SucceedStateEntered',
          'SucceedStateExited',
          'ExecutionSucceeded',
        ]);
      } finally {
        clock.leave();
      }
    });

    it('fails with the error given to SendTaskFailure', async () => {
      clock.enter();
      try {
        const { executionArn, token } = await startApproval('approve-2');
        await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Approval.Rejected', cause: 'no' }));
        const done = await facade.wait(executionArn);
        expect(done).toMatchObject({ status: 'FAILED', error: 'Approval.Rejected', cause: 'no' });
      } finally {
        clock.leave();
      }
    });

    it('times out with States.Timeout when nobody answers', async () => {
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn: arnOf('approval'), input: JSON.stringify({ service: 'orbit' }) }),
      );
      const done = await facade.wait(executionArn!);
      expect(done.status).toBe('FAILED');
      expect(done.error).toBe('States.Timeout');
      expect((done.stopDate!.getTime() - done.startDate.getTime()) / 1000).toBe(900);
      expect(facade.history(executionArn!).map((e) => e.type)).toContain('TaskTimedOut');
    });
  });

  it('StartExecution is idempotent for a running execution, else ExecutionAlreadyExists', async () => {
    clock.enter();
    try {
      const input = JSON.stringify({ service: 'axon' });
      const first = await client.send(new StartExecutionCommand({ stateMachineArn: arnOf('approval'), name: 'same', input }));
      const again = await client.send(new StartExecutionCommand({ stateMachineArn: arnOf('approval'), name: 'same', input }));
      expect(again.executionArn).toBe(first.executionArn);
      await expect(
        client.send(new StartExecutionCommand({ stateMachineArn: arnOf('approval'), name: 'same', input: '{"other":1}' })),
      ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
      const stopped = await client.send(new StopExecutionCommand({ executionArn: first.executionArn, error: 'Drill.Stop', cause: 'done' }));
      expect(stopped.stopDate).toBeInstanceOf(Date);
      const described = await client.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
      expect(described).toMatchObject({ status: 'ABORTED', error: 'Drill.Stop', cause: 'done' });
      expect(facade.pendingTasks().filter((t) => t.executionArn === first.executionArn)).toEqual([]);
      await expect(
        client.send(new StartExecutionCommand({ stateMachineArn: arnOf('approval'), name: 'same', input })),
      ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    } finally {
      clock.leave();
    }
  });

  it('validates input, names and machines like AWS', async () => {
    const start = (input: Partial<{ stateMachineArn: string; input: string; name: string }>) =>
      client.send(new StartExecutionCommand({ stateMachineArn: arnOf('waitHour'), ...input }));
    await expect(start({ input: '{not json' })).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(start({ name: 'has space' })).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(start({ name: 'x'.repeat(81) })).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(start({ stateMachineArn: arnOf('nope') })).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });

  it('keeps each concurrent execution’s elapsed time its own', async () => {
    const short = facade.start('waitHour', { seconds: 120 });
    const long = facade.start('waitHour', { seconds: 600 });
    const [a, b] = await Promise.all([facade.wait(short), facade.wait(long)]);
    expect((a.stopDate!.getTime() - a.startDate.getTime()) / 1000).toBe(120);
    expect((b.stopDate!.getTime() - b.startDate.getTime()) / 1000).toBe(600);

    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: arnOf('waitHour'), maxResults: 1 }));
    expect(listed.executions![0]!.executionArn).toBe(long);
    expect(listed.nextToken).toBeDefined();
    const succeeded = await client.send(new ListExecutionsCommand({ stateMachineArn: arnOf('waitHour'), statusFilter: 'SUCCEEDED' }));
    expect(succeeded.executions!.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  });
});
