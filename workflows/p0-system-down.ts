import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HandlerName } from '../handlers/registry.ts';
import { DEFAULT_STABILITY_BOUNDS, lambdaStep, waitUntilStable, type StabilityBounds } from './fragments.ts';

export interface P0SystemDownProps {
  functions: Record<HandlerName, IFunction>;
  stateMachineName?: string;
  stability?: StabilityBounds;
  /** Hard stop for the whole execution. */
  timeout?: Duration;
}

/** Error name of the execution when automation hands the incident to people. */
export const ESCALATED = 'IncidentEscalated';

/**
 * Runbook › Incident Response › P0 Incident (System Down), read top to bottom:
 * assess impact → investigate (recent changes, error logs) → restart → wait until stable →
 * if not, force a redeployment → wait until stable → verify recovery. Any failure after the
 * assessment goes through one fail-safe that restores the desired count, then escalates.
 */
export class P0SystemDown extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: P0SystemDownProps) {
    super(scope, id);
    const fn = props.functions;
    const bounds = props.stability ?? DEFAULT_STABILITY_BOUNDS;
    const incident = sfn.JsonPath.objectAt('$.incident');

    // Fail-safe: whatever went wrong, the service keeps at least the tasks it had before.
    const escalate = new sfn.Fail(this, 'Escalate to people', {
      error: ESCALATED,
      cause: 'Automatic remediation did not recover the service; the desired count was restored. A person must take over.',
    });
    const restoreFailed = new sfn.Fail(this, 'Escalate: the desired count could not be restored', {
      error: ESCALATED,
      cause: 'The fail-safe could not restore the desired count. Check the service NOW: it may be running fewer tasks than before.',
    });
    const restore = lambdaStep(this, 'Restore the desired count', fn['restore-desired-count'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount') },
      resultPath: '$.restoration',
    });
    restore.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    restore.addCatch(restoreFailed, { resultPath: '$.restorationError' });
    const failSafe = restore.next(escalate);

    // Investigation: evidence for people and the report; a failure here must not block the fix.
    const inspect = lambdaStep(this, 'Inspect recent changes', fn['inspect-changes'], { parameters: { incident } });
    inspect.addCatch(unavailable(this, 'Note that recent changes are unavailable'), { resultPath: '$.error' });
    const review = lambdaStep(this, 'Review error logs', fn['review-logs'], { parameters: { incident, pattern: 'ERROR' } });
    review.addCatch(unavailable(this, 'Note that error logs are unavailable'), { resultPath: '$.error' });
    const investigate = new sfn.Parallel(this, 'Investigate', {
      resultSelector: { 'changes.$': '$[0]', 'logs.$': '$[1]' },
      resultPath: '$.investigation',
    })
      .branch(inspect)
      .branch(review);
    investigate.addCatch(failSafe, { resultPath: '$.error' });

    const recovered = new sfn.Pass(this, 'Record: recovered', { result: sfn.Result.fromString('recovered'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Service recovered'),
    );
    const verify = lambdaStep(this, 'Verify recovery', fn.verify, { parameters: { incident }, resultPath: '$.verification' });
    verify.addCatch(failSafe, { resultPath: '$.error' });
    verify.next(
      new sfn.Choice(this, 'Did the service recover?')
        .when(sfn.Condition.booleanEquals('$.verification.recovered', true), recovered)
        .otherwise(failSafe),
    );

    const redeploy = lambdaStep(this, 'Force a new deployment', fn['restart-service'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount'), attempt: 'redeploy' },
      resultPath: '$.redeploy',
    });
    redeploy.addCatch(failSafe, { resultPath: '$.error' });
    redeploy.next(
      waitUntilStable(this, {
        what: 'the redeployment',
        checkStability: fn['check-stability'],
        changePath: '$.redeploy',
        statePath: '$.redeployStability',
        bounds,
        onStable: verify,
        onExhausted: failSafe,
        onError: failSafe,
      }),
    );

    const restart = lambdaStep(this, 'Restart the service', fn['restart-service'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount'), attempt: 'restart' },
      resultPath: '$.restart',
    });
    restart.addCatch(failSafe, { resultPath: '$.error' });
    const dryRunDone = new sfn.Pass(this, 'Record: dry run', { result: sfn.Result.fromString('dry-run'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Dry run: planned changes recorded'),
    );
    restart.next(
      new sfn.Choice(this, 'Is this a dry run?')
        .when(sfn.Condition.booleanEquals('$.incident.dryRun', true), dryRunDone)
        .otherwise(
          waitUntilStable(this, {
            what: 'the restart',
            checkStability: fn['check-stability'],
            changePath: '$.restart',
            statePath: '$.restartStability',
            bounds,
            onStable: verify,
            onExhausted: redeploy,
            onError: failSafe,
          }),
        ),
    );

    const nothingToDo = new sfn.Pass(this, 'Record: no action needed', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Service is healthy: no action'),
    );

    // Bad start input fails right here, before anything is touched, with an error naming the field.
    const assess = lambdaStep(this, 'Assess impact', fn.assess);
    const definition = assess
      .next(investigate)
      .next(
        new sfn.Choice(this, 'Is the service already healthy?')
          .when(sfn.Condition.stringEquals('$.assessment.verdict', 'healthy'), nothingToDo)
          .when(sfn.Condition.stringEquals('$.assessment.verdict', 'scaled-to-zero'), nothingToDo)
          .otherwise(restart),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout ?? Duration.hours(1),
      comment: 'Runbook P0 Incident (System Down): assess, investigate, restart, wait until stable, redeploy once, verify; fail-safe restores the desired count.',
    });
  }
}

function unavailable(scope: Construct, name: string): sfn.Pass {
  return new sfn.Pass(scope, name, {
    parameters: { unavailable: true, 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
  });
}
