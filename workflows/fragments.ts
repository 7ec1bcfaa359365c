import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TRANSIENT_ERRORS } from '#commons/errors';

/** Shared pieces of every workflow: a Lambda step with the house retry policy, and the bounded wait-until-stable loop. */

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

export interface StabilityBounds {
  /** Seconds between polls after the first wait. */
  intervalSeconds: number;
  /** Give up after this long since the change… */
  maxSeconds: number;
  /** …or after this many polls, whichever comes first. */
  maxAttempts: number;
}

export const DEFAULT_STABILITY_BOUNDS: StabilityBounds = { intervalSeconds: 5, maxSeconds: 300, maxAttempts: 80 };

export interface WaitUntilStableProps {
  /** Sentence fragment naming what is watched, e.g. "the restart". */
  what: string;
  checkStability: IFunction;
  /** JSONPath of the change's result, holding startedAt and firstWaitSeconds. */
  changePath: string;
  /** JSONPath where the loop keeps its polls. */
  statePath: string;
  bounds: StabilityBounds;
  onStable: sfn.IChainable;
  onExhausted: sfn.IChainable;
  onError: sfn.IChainable;
}

/**
 * `aws ecs wait services-stable`, as states: a first wait sized to the expected start time, then
 * poll → stable? → short wait → poll, bounded in attempts and in time.
 */
export function waitUntilStable(scope: Construct, p: WaitUntilStableProps): sfn.IChainable {
  const begin = new sfn.Pass(scope, `Start watching ${p.what}`, {
    result: sfn.Result.fromObject({ attempts: 0 }),
    resultPath: p.statePath,
  });
  const firstWait = new sfn.Wait(scope, `Wait for ${p.what} to start tasks`, {
    time: sfn.WaitTime.secondsPath(`${p.changePath}.firstWaitSeconds`),
  });
  const poll = lambdaStep(scope, `Check whether ${p.what} is stable`, p.checkStability, {
    parameters: {
      incident: sfn.JsonPath.objectAt('$.incident'),
      since: sfn.JsonPath.stringAt(`${p.changePath}.startedAt`),
      attempts: sfn.JsonPath.numberAt(`${p.statePath}.attempts`),
      maxAttempts: p.bounds.maxAttempts,
      maxSeconds: p.bounds.maxSeconds,
    },
    resultPath: p.statePath,
  });
  poll.addCatch(p.onError, { resultPath: '$.error' });
  const pause = new sfn.Wait(scope, `Pause before checking ${p.what} again`, {
    time: sfn.WaitTime.duration(Duration.seconds(p.bounds.intervalSeconds)),
  });
  const decide = new sfn.Choice(scope, `Is ${p.what} stable?`)
    .when(sfn.Condition.booleanEquals(`${p.statePath}.stable`, true), p.onStable)
    .when(sfn.Condition.booleanEquals(`${p.statePath}.exhausted`, true), p.onExhausted)
    .otherwise(pause.next(poll));
  return begin.next(firstWait).next(poll).next(decide);
}
