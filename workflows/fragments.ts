import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TRANSIENT_ERRORS } from '#commons/errors';

/** Shared pieces of every workflow: a Lambda step with the house retry policy, and the wait until a change is stable. */

export interface StepOptions {
  /** Parameters passed to the handler (JSONPath); the whole state when omitted. */
  parameters?: Record<string, unknown>;
  /** Where the result goes in the state; the result replaces the state when omitted. */
  resultPath?: string;
  comment?: string;
}

/** A Lambda task: transient AWS errors retried with exponential backoff and full jitter. */
export function lambdaStep(scope: Construct, name: string, fn: IFunction, options: StepOptions = {}): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    // The house retry policy covers Lambda's service errors; CDK's default retrier, emitted first, would shadow it.
    retryOnServiceExceptions: false,
    ...(options.parameters ? { payload: sfn.TaskInput.fromObject(options.parameters) } : {}),
    ...(options.resultPath ? { resultPath: options.resultPath } : {}),
    ...(options.comment ? { comment: options.comment } : {}),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
  });
  return withTransientRetry(task);
}

/** The house retry policy: transient AWS and Lambda errors, 5 attempts, 2 s × 2ⁿ up to 30 s, full jitter. */
export function withTransientRetry<T extends sfn.TaskStateBase>(task: T): T {
  task.addRetry({
    errors: [...TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

export interface WaitUntilStableProps {
  /** Sentence fragment naming what is watched, e.g. "the restart". */
  what: string;
  /** Which wait of the workflow this is (one watch per execution and wait). */
  watch: 'restart' | 'redeploy' | 'scale-in' | 'scale-out' | 'deploy' | 'rollback';
  watchStability: IFunction;
  /** JSONPath of the change's result (restart-service): startedAt, deploymentId, goal, wait plan. */
  changePath: string;
  /** JSONPath where the wait's result goes. */
  statePath: string;
  onStable: sfn.IChainable;
  /** Not stable and not going to be: failed, stalled, or past its time bound. */
  onGaveUp: sfn.IChainable;
  onError: sfn.IChainable;
}

/**
 * `aws ecs wait services-stable`, the way each service deserves (handlers/watch-stability.ts): one
 * callback step that ECS's own events release (deployment completed or failed, steady state),
 * with a safety-net poll each time the step's timeout — the plan's cadence, derived from the
 * service — passes without news. A lost or early event costs at most one cadence. The wait is
 * bounded by progress and by time in the handler; every re-entry is one state transition.
 */
export function waitUntilStable(scope: Construct, p: WaitUntilStableProps): sfn.IChainable {
  const wait = new tasks.LambdaInvoke(scope, `Wait until ${p.what} is stable`, {
    lambdaFunction: p.watchStability,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      incident: sfn.JsonPath.objectAt('$.incident'),
      change: sfn.JsonPath.objectAt(p.changePath),
      watch: p.watch,
      execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
      taskToken: sfn.JsonPath.taskToken,
    }),
    resultPath: p.statePath,
    taskTimeout: sfn.Timeout.at(`${p.changePath}.wait.checkEverySeconds`),
    // The house retry policy below covers Lambda's service errors; CDK's own would shadow it.
    retryOnServiceExceptions: false,
  });
  withTransientRetry(wait);
  // No event within the cadence: look again (the handler polls on entry and stores a fresh token).
  wait.addCatch(wait, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
  wait.addCatch(p.onError, { resultPath: '$.error' });
  const decide = new sfn.Choice(scope, `Is ${p.what} stable?`)
    .when(sfn.Condition.booleanEquals(`${p.statePath}.stable`, true), p.onStable)
    .otherwise(p.onGaveUp);
  return wait.next(decide);
}

/** The outcome the record and the report show (`$.outcome`), then the end: "Record: recovered" → "Service recovered". */
export function recordOutcome(scope: Construct, outcome: string, end: string): sfn.IChainable {
  return new sfn.Pass(scope, `Record: ${outcome.replaceAll('-', ' ')}`, { result: sfn.Result.fromString(outcome), resultPath: '$.outcome' }).next(new sfn.Succeed(scope, end));
}
