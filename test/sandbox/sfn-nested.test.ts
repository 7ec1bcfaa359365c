import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedriveExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { VirtualClock } from '#sandbox/clock';
import { SandboxHttpServer } from '#sandbox/http';
import { extractStateMachines, type AslDefinition, type CloudFormationTemplate } from '#sandbox/sfn/asl';
import { SfnFacade, type ExecutionRecord, type Handlers } from '#sandbox/sfn/facade';

/**
 * Nested executions through the optimized `states:startExecution` integration (Developer Guide,
 * "Start a new AWS Step Functions state machine from a running execution"): request-response
 * returns StartExecution's answer at once; `.sync` / `.sync:2` wait for the child and return its
 * DescribeExecution answer, fail with States.TaskFailed when it does not succeed, and stop the
 * child when the parent stops waiting.
 */

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const arnOf = (name: string): string => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
const fn = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';

/** A parent whose one Task starts `child` with `resource`, then a Pass proves it went on. */
function parentOf(child: string, resource = SYNC2, task: Record<string, unknown> = {}, machine: Partial<AslDefinition> = {}): AslDefinition {
  return {
    ...machine,
    StartAt: 'Rollback',
    States: {
      Rollback: {
        Type: 'Task',
        Resource: resource,
        Parameters: {
          StateMachineArn: arnOf(child),
          Input: { 'service.$': '$.service', 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
        },
        ResultPath: '$.rollback',
        Next: 'Continue',
        ...task,
      },
      Continue: { Type: 'Pass', Result: true, ResultPath: '$.continued', End: true },
    },
  };
}

describe('nested executions (states:startExecution)', () => {
  const clock = new VirtualClock();
  let rollbackStepCalls = 0;
  let facade: SfnFacade;
  const handlers: Handlers = {
    // Fails its first call, succeeds after: a rollback that works when redriven.
    'rollback-step': async () => {
      rollbackStepCalls += 1;
      if (rollbackStepCalls === 1) throw Object.assign(new Error('service still draining'), { name: 'RollbackBusy' });
      return { restored: true };
    },
    // A child that answers its parent's task token itself, as a .waitForTaskToken child would.
    'answer-parent': async (event) => {
      const { token } = event as { token: string };
      facade.handle('SendTaskSuccess', { taskToken: token, output: JSON.stringify({ answered: true }) });
      return {};
    },
  };
  facade = new SfnFacade({ clock, region: REGION, accountId: ACCOUNT, handlers });
  const server = new SandboxHttpServer();
  let client: SFNClient;

  const childrenOf = (parentArn: string): ExecutionRecord[] =>
    facade.listExecutionRecords().filter((r) => r.parentExecutionArn === parentArn);
  const seconds = (from: Date, to: Date): number => (to.getTime() - from.getTime()) / 1000;
  const types = (executionArn: string): string[] => facade.history(executionArn).map((e) => e.type!);

  beforeAll(async () => {
    const children: Record<string, AslDefinition> = {
      'rollback-ok': { StartAt: 'Restore', States: { Restore: { Type: 'Pass', Result: { restored: 'v41' }, ResultPath: '$.result', End: true } } },
      'rollback-fails': { StartAt: 'NoRevision', States: { NoRevision: { Type: 'Fail', Error: 'Rollback.NoPreviousRevision', Cause: 'axon has no earlier revision' } } },
      'rollback-waits': {
        StartAt: 'Drain',
        States: {
          Drain: { Type: 'Wait', Seconds: 600, Next: 'Restore' },
          Restore: { Type: 'Pass', Result: { restored: 'v41' }, ResultPath: '$.result', End: true },
        },
      },
      'rollback-hour': { StartAt: 'Drain', States: { Drain: { Type: 'Wait', Seconds: 3600, End: true } } },
      'rollback-flaky': { StartAt: 'Step', States: { Step: { Type: 'Task', Resource: fn('rollback-step'), ResultPath: '$.step', End: true } } },
      'rollback-answers': {
        StartAt: 'Answer',
        States: { Answer: { Type: 'Task', Resource: fn('answer-parent'), End: true } },
      },
    };
    for (const [name, definition] of Object.entries(children)) facade.addDefinition(name, definition);
    facade.addDefinition('deploy-sync2', parentOf('rollback-ok'));
    facade.addDefinition('deploy-sync1', parentOf('rollback-ok', 'arn:aws:states:::states:startExecution.sync'));
    const catching = (errorEquals: string): AslDefinition => {
      const machine = parentOf('rollback-fails', SYNC2, { Catch: [{ ErrorEquals: [errorEquals], ResultPath: '$.failure', Next: 'Page' }] });
      machine.States.Page = { Type: 'Pass', Result: 'paged', ResultPath: '$.page', End: true };
      return machine;
    };
    facade.addDefinition('deploy-catches', catching('States.TaskFailed'));
    facade.addDefinition('deploy-catches-all', catching('States.ALL'));
    facade.addDefinition('deploy-uncaught', parentOf('rollback-fails'));
    facade.addDefinition('deploy-missing', parentOf('no-such-rollback'));
    facade.addDefinition('deploy-named', parentOf('rollback-ok', SYNC2, {
      Parameters: { StateMachineArn: arnOf('rollback-ok'), Name: 'rollback-axon-1', Input: { 'service.$': '$.service' } },
    }));
    facade.addDefinition('deploy-bad-input', parentOf('rollback-ok', SYNC2, { Parameters: { StateMachineArn: arnOf('rollback-ok'), Input: '{not json' } }));
    facade.addDefinition('deploy-hour', parentOf('rollback-hour'));
    facade.addDefinition('deploy-hour-timeout', parentOf('rollback-hour', SYNC2, {}, { TimeoutSeconds: 60 }));
    facade.addDefinition('deploy-hour-task-timeout', parentOf('rollback-hour', SYNC2, { TimeoutSeconds: 30 }));
    facade.addDefinition('deploy-waits', parentOf('rollback-waits'));
    facade.addDefinition('deploy-fire-and-forget', parentOf('rollback-waits', 'arn:aws:states:::states:startExecution'));
    facade.addDefinition('deploy-flaky', parentOf('rollback-flaky'));
    facade.addDefinition('deploy-callback', parentOf('rollback-answers', 'arn:aws:states:::states:startExecution.waitForTaskToken', {
      Parameters: { StateMachineArn: arnOf('rollback-answers'), Input: { 'token.$': '$$.Task.Token' } },
    }));
    server.registerJson('AWSStepFunctions', 'sfn', '1.0', facade.handle);
    const url = await server.listen();
    client = new SFNClient({ endpoint: url, region: REGION, credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' }, maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('.sync:2 — the child succeeds, the parent gets its DescribeExecution answer with Input and Output as JSON, and goes on', async () => {
    const parentArn = facade.start('deploy-sync2', { service: 'axon' });
    const parent = await facade.wait(parentArn);
    expect(parent.status).toBe('SUCCEEDED');
    const [child] = childrenOf(parentArn);
    expect(child).toMatchObject({ status: 'SUCCEEDED', stateMachineArn: arnOf('rollback-ok'), parentExecutionArn: parentArn });

    const output = JSON.parse(parent.output!);
    expect(output.continued).toBe(true);
    const rollback = output.rollback;
    expect(Object.keys(rollback)).toEqual([
      'ExecutionArn', 'Input', 'InputDetails', 'Name', 'Output', 'OutputDetails', 'RedriveCount', 'RedriveStatus',
      'RedriveStatusReason', 'StartDate', 'StateMachineArn', 'Status', 'StopDate',
    ]);
    expect(rollback).toMatchObject({
      ExecutionArn: child!.executionArn,
      Name: child!.name,
      StateMachineArn: arnOf('rollback-ok'),
      Status: 'SUCCEEDED',
      // The child's input carries the parent link CDK's associateWithParent adds.
      Input: { service: 'axon', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn },
      Output: { service: 'axon', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn, result: { restored: 'v41' } },
      InputDetails: { Included: true },
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: child!.startDate.getTime(),
      StopDate: child!.stopDate!.getTime(),
    });

    expect(types(parentArn).slice(0, 8)).toEqual([
      'ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded', 'TaskStateExited', 'PassStateEntered',
    ]);
    const history = facade.history(parentArn);
    const scheduled = history.find((e) => e.type === 'TaskScheduled')!.taskScheduledEventDetails!;
    expect(scheduled).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync:2', region: REGION });
    expect(JSON.parse(scheduled.parameters!)).toEqual({
      StateMachineArn: arnOf('rollback-ok'),
      Input: { service: 'axon', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parentArn },
    });
    const submitted = history.find((e) => e.type === 'TaskSubmitted')!.taskSubmittedEventDetails!;
    expect(submitted).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync:2' });
    expect(JSON.parse(submitted.output!)).toMatchObject({ ExecutionArn: child!.executionArn, StartDate: child!.startDate.getTime() });
    const succeeded = history.find((e) => e.type === 'TaskSucceeded')!.taskSucceededEventDetails!;
    expect(succeeded).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync:2' });
    expect(JSON.parse(succeeded.output!)).toEqual(rollback);
  });

  it('.sync (v1) — the same answer with Input and Output as JSON text', async () => {
    const parent = await facade.wait(facade.start('deploy-sync1', { service: 'orbit' }));
    expect(parent.status).toBe('SUCCEEDED');
    const { rollback } = JSON.parse(parent.output!);
    expect(typeof rollback.Input).toBe('string');
    expect(typeof rollback.Output).toBe('string');
    expect(JSON.parse(rollback.Output).result).toEqual({ restored: 'v41' });
    expect(facade.history(parent.executionArn).find((e) => e.type === 'TaskScheduled')!.taskScheduledEventDetails!.resource).toBe('startExecution.sync');
  });

  it('the child fails — the parent’s Catch on States.TaskFailed (or States.ALL) runs, and the cause names the child’s error', async () => {
    const parent = await facade.wait(facade.start('deploy-catches', { service: 'axon' }));
    expect(parent.status).toBe('SUCCEEDED');
    const { failure, page } = JSON.parse(parent.output!);
    expect(page).toBe('paged');
    expect(failure.Error).toBe('States.TaskFailed');
    const cause = JSON.parse(failure.Cause);
    expect(cause).toMatchObject({
      Status: 'FAILED',
      Error: 'Rollback.NoPreviousRevision',
      Cause: 'axon has no earlier revision',
      StateMachineArn: arnOf('rollback-fails'),
      Input: { service: 'axon', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent.executionArn },
      RedriveStatus: 'REDRIVABLE',
    });
    expect(cause).not.toHaveProperty('Output');
    const taskFailed = facade.history(parent.executionArn).find((e) => e.type === 'TaskFailed')!.taskFailedEventDetails!;
    expect(taskFailed).toMatchObject({ resourceType: 'states', resource: 'startExecution.sync:2', error: 'States.TaskFailed' });

    const all = await facade.wait(facade.start('deploy-catches-all', { service: 'axon' }));
    expect(JSON.parse(all.output!)).toMatchObject({ page: 'paged', failure: { Error: 'States.TaskFailed' } });

    const uncaught = await facade.wait(facade.start('deploy-uncaught', { service: 'axon' }));
    expect(uncaught).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(JSON.parse(uncaught.cause!).Error).toBe('Rollback.NoPreviousRevision');
  });

  it('StartExecution’s refusals fail the task as StepFunctions.<Code>Exception: an unknown state machine, a reused Name, input that is not JSON', async () => {
    const missing = await facade.wait(facade.start('deploy-missing', { service: 'axon' }));
    expect(missing.status).toBe('FAILED');
    expect(missing.error).toBe('StepFunctions.StateMachineDoesNotExistException');
    expect(missing.cause).toContain(`State Machine Does Not Exist: '${arnOf('no-such-rollback')}'`);
    expect(missing.cause).toContain('Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist');
    expect(types(missing.executionArn)).not.toContain('TaskSubmitted');
    expect(childrenOf(missing.executionArn)).toEqual([]);

    const first = await facade.wait(facade.start('deploy-named', { service: 'axon' }));
    expect(first.status).toBe('SUCCEEDED');
    expect(JSON.parse(first.output!).rollback.Name).toBe('rollback-axon-1');
    // Execution names are unique per state machine: the closed child keeps its name.
    const second = await facade.wait(facade.start('deploy-named', { service: 'axon' }));
    expect(second).toMatchObject({ status: 'FAILED', error: 'StepFunctions.ExecutionAlreadyExistsException' });

    // A string Input is sent as it is: it must already be JSON text.
    const badInput = await facade.wait(facade.start('deploy-bad-input', {}));
    expect(badInput).toMatchObject({ status: 'FAILED', error: 'StepFunctions.InvalidExecutionInputException' });
  });

  it('the parent is stopped while it waits — the child is stopped too, with AWS’s cause and no error; the parent runs no Catch', async () => {
    // Time stands still so the child is still waiting when the parent is stopped.
    clock.enter();
    try {
      const parentArn = facade.start('deploy-hour', { service: 'axon' });
      for (let i = 0; i < 100 && childrenOf(parentArn).length === 0; i++) await new Promise((r) => setImmediate(r));
      const [child] = childrenOf(parentArn);
      expect(child?.status).toBe('RUNNING');
      await client.send(new StopExecutionCommand({ executionArn: parentArn, error: 'Deploy.Cancelled', cause: 'operator stopped the deploy' }));
      const stopped = await facade.wait(child!.executionArn);
      expect(stopped.status).toBe('ABORTED');
      expect(stopped.error).toBeUndefined();
      expect(stopped.cause).toBe(`The Task state in AWS Step Functions execution [${parentArn}] which was managing this resource was aborted`);
      expect(facade.execution(parentArn)).toMatchObject({ status: 'ABORTED', error: 'Deploy.Cancelled' });
      expect(types(parentArn).slice(-2)).toEqual(['TaskSubmitted', 'ExecutionAborted']);
      expect(types(child!.executionArn).at(-1)).toBe('ExecutionAborted');
    } finally {
      clock.leave();
    }
  });

  it('the parent times out (its own TimeoutSeconds, or the Task’s) while it waits — the child is stopped at that moment', async () => {
    const timedOut = await facade.wait(facade.start('deploy-hour-timeout', { service: 'axon' }));
    expect(timedOut.status).toBe('TIMED_OUT');
    const [child] = childrenOf(timedOut.executionArn);
    const stopped = await facade.wait(child!.executionArn);
    expect(stopped.status).toBe('ABORTED');
    expect(seconds(stopped.startDate, stopped.stopDate!)).toBe(60);

    const taskTimedOut = await facade.wait(facade.start('deploy-hour-task-timeout', { service: 'axon' }));
    expect(taskTimedOut).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(types(taskTimedOut.executionArn)).toContain('TaskTimedOut');
    const [abandoned] = childrenOf(taskTimedOut.executionArn);
    const ended = await facade.wait(abandoned!.executionArn);
    expect(ended.status).toBe('ABORTED');
    expect(seconds(ended.startDate, ended.stopDate!)).toBe(30);
  });

  it('the child waits 10 minutes on a Wait state — the clock advances and the parent finishes after it, in well under a second', async () => {
    const real = Date.now();
    const parent = await facade.wait(facade.start('deploy-waits', { service: 'axon' }));
    expect(parent.status).toBe('SUCCEEDED');
    expect(seconds(parent.startDate, parent.stopDate!)).toBe(600);
    const [child] = childrenOf(parent.executionArn);
    expect(child!.stopDate!.getTime()).toBeLessThanOrEqual(parent.stopDate!.getTime());
    expect(JSON.parse(parent.output!).rollback.Output.result).toEqual({ restored: 'v41' });
    expect(Date.now() - real).toBeLessThan(1000);
  });

  it('request-response returns StartExecution’s answer at once and leaves the child running on its own', async () => {
    const parent = await facade.wait(facade.start('deploy-fire-and-forget', { service: 'axon' }));
    expect(parent.status).toBe('SUCCEEDED');
    expect(seconds(parent.startDate, parent.stopDate!)).toBe(0);
    const [child] = childrenOf(parent.executionArn);
    const { rollback } = JSON.parse(parent.output!);
    expect(rollback).toEqual({
      ExecutionArn: child!.executionArn,
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: 'sandbox' },
      StartDate: child!.startDate.getTime(),
    });
    expect(types(parent.executionArn)).not.toContain('TaskSubmitted');
    expect(facade.history(parent.executionArn).find((e) => e.type === 'TaskScheduled')!.taskScheduledEventDetails!.resource).toBe('startExecution');
    const done = await facade.wait(child!.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(seconds(parent.stopDate!, done.stopDate!)).toBe(600);
  });

  it('.waitForTaskToken — the child gets the token in its input and its SendTaskSuccess completes the parent’s task', async () => {
    const parent = await facade.wait(facade.start('deploy-callback', { service: 'axon' }));
    expect(parent.status).toBe('SUCCEEDED');
    expect(JSON.parse(parent.output!).rollback).toEqual({ answered: true });
    const submitted = facade.history(parent.executionArn).find((e) => e.type === 'TaskSubmitted')!.taskSubmittedEventDetails!;
    expect(submitted.resource).toBe('startExecution.waitForTaskToken');
    expect(JSON.parse(submitted.output!).ExecutionArn).toBe(childrenOf(parent.executionArn)[0]!.executionArn);
  });

  it('a parent whose .sync task failed is redriven — the task runs again and starts a new child', async () => {
    rollbackStepCalls = 0;
    const parentArn = facade.start('deploy-flaky', { service: 'axon' });
    const failed = await facade.wait(parentArn);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(JSON.parse(failed.cause!).Error).toBe('RollbackBusy');

    await client.send(new RedriveExecutionCommand({ executionArn: parentArn }));
    const redriven = await facade.wait(parentArn);
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    const children = childrenOf(parentArn);
    expect(children.map((c) => c.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(new Set(children.map((c) => c.name)).size).toBe(2);
    expect(JSON.parse(redriven.output!).rollback.Output.step).toEqual({ restored: true });
  });

  describe('the ASL CDK emits for StepFunctionsStartExecution (RUN_JOB, associateWithParent)', () => {
    function synthesize(): CloudFormationTemplate {
      const app = new cdk.App();
      const stack = new cdk.Stack(app, 'NestedFixture', { env: { region: REGION, account: ACCOUNT } });
      const rollback = new sfn.StateMachine(stack, 'Rollback', {
        stateMachineName: 'cdk-rollback',
        definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Restore', { result: sfn.Result.fromObject({ restored: 'v41' }), resultPath: '$.result' })),
      });
      const startRollback = new tasks.StepFunctionsStartExecution(stack, 'Start rollback', {
        stateMachine: rollback,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        associateWithParent: true,
        input: sfn.TaskInput.fromObject({ service: sfn.JsonPath.stringAt('$.service'), reason: 'deploy failed verification' }),
        resultPath: '$.rollback',
      });
      new sfn.StateMachine(stack, 'Deploy', {
        stateMachineName: 'cdk-deploy',
        definitionBody: sfn.DefinitionBody.fromChainable(startRollback.next(new sfn.Succeed(stack, 'Rolled back'))),
      });
      return Template.fromStack(stack).toJSON() as CloudFormationTemplate;
    }

    it('runs as synthesized: .sync:2 with $$.Execution.Id in the child’s input, the child’s output parsed', async () => {
      const machines = extractStateMachines(synthesize(), { region: REGION, accountId: ACCOUNT });
      // Validated by asl-validator like any machine the facade registers.
      machines.forEach((m) => facade.addStateMachine(m));
      const task = machines.find((m) => m.name === 'cdk-deploy')!.definition.States['Start rollback']!;
      expect(task.Resource).toBe(SYNC2);
      expect(task.Parameters).toEqual({
        StateMachineArn: arnOf('cdk-rollback'),
        Input: { 'service.$': '$.service', reason: 'deploy failed verification', 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
      });

      const parent = await facade.wait(facade.start('cdk-deploy', { service: 'orbit' }));
      expect(parent.status).toBe('SUCCEEDED');
      const { rollback } = JSON.parse(parent.output!);
      expect(rollback.Status).toBe('SUCCEEDED');
      expect(rollback.Input).toEqual({ service: 'orbit', reason: 'deploy failed verification', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent.executionArn });
      expect(rollback.Output.result).toEqual({ restored: 'v41' });
      expect(childrenOf(parent.executionArn)).toHaveLength(1);
    });
  });
});
