import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_APPROVAL_POLICY, escalationMinutes, ruleFor, type ApprovalPolicy } from '#commons/policy';
import type { HandlerName } from '../handlers/registry.ts';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { approvalWithEscalation } from './approval.ts';
import { lambdaStep, waitUntilStable } from './fragments.ts';

export interface P0SystemDownProps {
  functions: Record<HandlerName, IFunction>;
  stateMachineName?: string;
  /** Hard stop for the whole execution; by default 2 h (two waits of at most 45 min) plus the longest approval escalation. */
  timeout?: Duration;
  /** The request-approval function (infra/approvals.ts); without it the restart is never gated. */
  requestApproval?: IFunction;
  /** Which actions need a person (handlers/commons/policy.ts); the default policy when omitted. */
  policy?: ApprovalPolicy;
  /** The rollback workflow: with it, P0 rolls back a bad deployment instead of restarting it (handlers/choose-fix.ts). */
  rollback?: { stateMachine: sfn.IStateMachine; timeout: Duration };
}

export const WORKFLOW = 'p0-system-down';

/** Error name of the execution when automation hands the incident to people. */
export const ESCALATED = 'IncidentEscalated';
/** Error name of the execution when a person rejected the restart. */
export const REJECTED = 'ApprovalRejected';

/**
 * Runbook › Incident Response › P0 Incident (System Down), read top to bottom:
 * assess impact → investigate (recent changes, error logs) → [approval, when the policy or the
 * start input asks] → restart (forced deployment, or the runbook's scale to zero, wait, scale back)
 * → wait until stable → if not, force a redeployment → wait until stable → verify recovery. Any failure after the assessment goes through one fail-safe that
 * restores the desired count, then escalates. A rejected or unanswered approval stops before
 * anything is touched.
 */
export class P0SystemDown extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The longest an execution may run (1 h, plus the approval escalation when there is one). */
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: P0SystemDownProps) {
    super(scope, id);
    const rule = ruleFor(props.policy ?? DEFAULT_APPROVAL_POLICY, WORKFLOW, 'restart');
    const rollbackRule = ruleFor(props.policy ?? DEFAULT_APPROVAL_POLICY, WORKFLOW, 'rollback');
    this.timeout =
      props.timeout ??
      Duration.minutes(120 + (props.requestApproval ? escalationMinutes(rule.escalation) + escalationMinutes(rollbackRule.escalation) : 0) + (props.rollback?.timeout.toMinutes() ?? 0));
    const fn = props.functions;
    const incident = sfn.JsonPath.objectAt('$.incident');
    // The execution making a change holds the service's restore point (handlers/safety/restore-points.ts).
    const execution = sfn.JsonPath.stringAt('$$.Execution.Id');

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
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount'), attempt: 'redeploy', execution },
      resultPath: '$.redeploy',
    });
    redeploy.addCatch(failSafe, { resultPath: '$.error' });
    redeploy.next(
      waitUntilStable(this, {
        what: 'the redeployment',
        watch: 'redeploy',
        watchStability: fn['watch-stability'],
        changePath: '$.redeploy',
        statePath: '$.redeployStability',
        onStable: verify,
        onGaveUp: failSafe,
        onError: failSafe,
      }),
    );

    // The runbook's stop-then-start: scale in, wait until every task has stopped, scale back out.
    const scaleOut = lambdaStep(this, 'Scale the service back out', fn['restart-service'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.restart.desiredBefore'), attempt: 'scale-out', execution },
      resultPath: '$.scaleOut',
    });
    scaleOut.addCatch(failSafe, { resultPath: '$.error' });
    scaleOut.next(
      waitUntilStable(this, {
        what: 'the scale-out',
        watch: 'scale-out',
        watchStability: fn['watch-stability'],
        changePath: '$.scaleOut',
        statePath: '$.restartStability',
        onStable: verify,
        onGaveUp: redeploy,
        onError: failSafe,
      }),
    );
    const scaleIn = waitUntilStable(this, {
      what: 'the scale-in',
      watch: 'scale-in',
      watchStability: fn['watch-stability'],
      changePath: '$.restart',
      statePath: '$.scaleInStability',
      onStable: scaleOut,
      onGaveUp: failSafe,
      onError: failSafe,
    });

    const restart = lambdaStep(this, 'Restart the service', fn['restart-service'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount'), attempt: 'restart', execution },
      resultPath: '$.restart',
    });
    restart.addCatch(failSafe, { resultPath: '$.error' });
    const dryRunDone = new sfn.Pass(this, 'Record: dry run', { result: sfn.Result.fromString('dry-run'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Dry run: planned changes recorded'),
    );
    restart.next(
      new sfn.Choice(this, 'Is this a dry run?')
        .when(sfn.Condition.booleanEquals('$.incident.dryRun', true), dryRunDone)
        .when(sfn.Condition.stringEquals('$.restart.phase', 'scale-in'), scaleIn)
        .otherwise(
          waitUntilStable(this, {
            what: 'the restart',
            watch: 'restart',
            watchStability: fn['watch-stability'],
            changePath: '$.restart',
            statePath: '$.restartStability',
            onStable: verify,
            onGaveUp: redeploy,
            onError: failSafe,
          }),
        ),
    );

    // People in charge of the restart: the policy says when (docs/approvals.md).
    let remediate: sfn.IChainable = restart;
    if (props.requestApproval) {
      // An approval can take hours: look again before acting, the service may have recovered.
      const assessAgain = lambdaStep(this, 'Assess again after approval', fn.assess, {
        parameters: {
          'service.$': '$.incident.service',
          'cluster.$': '$.incident.cluster',
          'logGroup.$': '$.incident.logGroup',
          'restartMode.$': '$.incident.restartMode',
          'lookbackMinutes.$': '$.incident.lookbackMinutes',
          'expectedStartSeconds.$': '$.incident.expectedStartSeconds',
        },
        resultPath: '$.reassessment',
      });
      assessAgain.addCatch(failSafe, { resultPath: '$.error' });
      assessAgain.next(
        new sfn.Choice(this, 'Is the service still unhealthy?')
          .when(
            sfn.Condition.stringEquals('$.reassessment.assessment.verdict', 'healthy'),
            new sfn.Pass(this, 'Record: recovered while people decided', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
              new sfn.Succeed(this, 'Service recovered before the restart: no action'),
            ),
          )
          // A person scaled it to zero meanwhile: that is their decision, not a fault to restart over.
          .when(
            sfn.Condition.stringEquals('$.reassessment.assessment.verdict', 'scaled-to-zero'),
            new sfn.Pass(this, 'Record: scaled to zero by a person meanwhile', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
              new sfn.Succeed(this, 'Service scaled to zero while people decided: no action'),
            ),
          )
          .otherwise(restart),
      );
      const approval = approvalWithEscalation(this, {
        what: 'the restart',
        workflow: WORKFLOW,
        action: 'restart',
        severity: 'P0',
        requestApproval: props.requestApproval,
        escalation: rule.escalation,
        evidence: { assessment: '$.assessment', investigation: '$.investigation' },
        resultPath: '$.approval',
        onApproved: assessAgain,
        onRejected: new sfn.Fail(this, 'Stop: the restart was rejected', {
          error: REJECTED,
          cause: 'A person rejected the restart; nothing was changed on the service. The incident stays with people.',
        }),
        onNoAnswer:
          rule.onNoAnswer === 'proceed'
            ? restart
            : new sfn.Fail(this, 'Escalate: nobody approved the restart', {
                error: ESCALATED,
                cause: `Nobody approved the restart within ${escalationMinutes(rule.escalation)} minutes (${rule.escalation.map((t) => t.tier).join(' → ')}); failed closed, nothing was changed on the service.`,
              }),
        onError: new sfn.Fail(this, 'Escalate: approval could not be requested', {
          error: ESCALATED,
          cause: 'The approval request failed; failed closed, nothing was changed on the service. A person must take over.',
        }),
      });
      // A dry run changes nothing, so it asks nobody.
      const dryRun = sfn.Condition.booleanEquals('$.incident.dryRun', true);
      const needed =
        rule.mode === 'approval' ? sfn.Condition.not(dryRun) : sfn.Condition.and(sfn.Condition.booleanEquals('$.incident.requireApproval', true), sfn.Condition.not(dryRun));
      remediate = new sfn.Choice(this, 'Does the restart need approval?').when(needed, approval).otherwise(restart);
    }

    const nothingToDo = new sfn.Pass(this, 'Record: no action needed', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Service is healthy: no action'),
    );

    // Bad start input fails right here, before anything is touched, with an error naming the field.
    const assess = lambdaStep(this, 'Assess impact', fn.assess);
    // CODE_DEPLOY and EXTERNAL controllers refuse a forced deployment: hand over before touching anything.
    const handOver = new sfn.Fail(this, 'Hand over: the deployment controller refuses a restart', {
      error: ESCALATED,
      cause:
        'The service uses the CODE_DEPLOY or EXTERNAL deployment controller, which refuses the forced deployment a restart needs. Nothing was changed: restart it through CodeDeploy or its controller.',
    });
    const definition = assess
      .next(investigate)
      .next(
        new sfn.Choice(this, 'Is the service already healthy?')
          .when(sfn.Condition.stringEquals('$.assessment.verdict', 'healthy'), nothingToDo)
          .when(sfn.Condition.stringEquals('$.assessment.verdict', 'scaled-to-zero'), nothingToDo)
          .otherwise(
            new sfn.Choice(this, 'Can incident-flows restart it?')
              .when(sfn.Condition.stringEquals('$.assessment.deploymentController', 'ECS'), props.rollback ? this.chooseTheFix(props, rollbackRule, remediate, failSafe) : remediate)
              .otherwise(handOver),
          ),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook P0 Incident (System Down): assess, investigate, restart, wait until stable, redeploy once, verify; fail-safe restores the desired count.',
    });
  }
  /**
   * Issue 12: the fix the evidence points to. A recent deployment that brought in a failing revision
   * whose predecessor ran stable is rolled back (the rollback workflow, nested); anything else is
   * restarted as before. A rollback older than the policy's window asks a person, whose Reject
   * means "restart instead". A failed rollback goes through the same fail-safe as a restart.
   */
  private chooseTheFix(props: P0SystemDownProps, rule: ReturnType<typeof ruleFor>, restart: sfn.IChainable, failSafe: sfn.IChainable): sfn.IChainable {
    const fn = props.functions;
    const choose = lambdaStep(this, 'Choose the fix: roll back or restart', fn['choose-fix'], {
      parameters: {
        incident: sfn.JsonPath.objectAt('$.incident'),
        assessment: sfn.JsonPath.objectAt('$.assessment'),
        investigation: sfn.JsonPath.objectAt('$.investigation'),
        autoRollbackWithinMinutes: rule.withinMinutes ?? 60,
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
      },
      resultPath: '$.decision',
    });
    // Not knowing is no reason to wait: restart as before.
    choose.addCatch(restart, { resultPath: '$.decisionError' });
    const rolledBack = new sfn.Pass(this, 'Record: rolled back', { result: sfn.Result.fromString('rolled-back'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Service recovered by rolling back'),
    );
    const rollback = new tasks.StepFunctionsStartExecution(this, 'Roll back the deployment', {
      stateMachine: props.rollback!.stateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      input: sfn.TaskInput.fromObject({
        service: sfn.JsonPath.stringAt('$.incident.service'),
        cluster: sfn.JsonPath.stringAt('$.incident.cluster'),
        mode: 'quick',
        toRevision: sfn.JsonPath.stringAt('$.decision.rollbackTo'),
        automatic: true,
        reason: sfn.JsonPath.format('P0: {} is failing since a recent deployment', sfn.JsonPath.stringAt('$.incident.service')),
        trigger: { kind: 'manual', by: sfn.JsonPath.format('p0 {}', sfn.JsonPath.stringAt('$$.Execution.Name')) },
        expectedStartSeconds: sfn.JsonPath.numberAt('$.incident.expectedStartSeconds'),
      }),
      resultSelector: { status: sfn.JsonPath.stringAt('$.Status'), execution: sfn.JsonPath.stringAt('$.ExecutionArn'), outcome: sfn.JsonPath.objectAt('$.Output.outcome') },
      resultPath: '$.rollback',
    });
    rollback.addCatch(failSafe, { resultPath: '$.error' });
    rollback.next(rolledBack);

    let gated: sfn.IChainable = rollback;
    if (props.requestApproval) {
      const approval = approvalWithEscalation(this, {
        what: 'the rollback',
        workflow: WORKFLOW,
        action: 'rollback',
        severity: 'P0',
        requestApproval: props.requestApproval,
        escalation: rule.escalation,
        evidence: { assessment: '$.assessment', investigation: '$.investigation', decision: '$.decision' },
        resultPath: '$.rollbackApproval',
        onApproved: rollback,
        // Reject means "restart instead": the incident still needs a fix.
        onRejected: restart,
        onNoAnswer: rule.onNoAnswer === 'proceed' ? rollback : restart,
        onError: restart,
      });
      const needed = rule.mode === 'approval' ? sfn.Condition.booleanEquals('$.incident.dryRun', false) : sfn.Condition.booleanEquals('$.decision.needsApproval', true);
      gated = new sfn.Choice(this, 'Does the rollback need approval?').when(sfn.Condition.and(needed, sfn.Condition.booleanEquals('$.incident.dryRun', false)), approval).otherwise(rollback);
    }
    const dryRun = new sfn.Pass(this, 'Record: dry run (rollback)', { result: sfn.Result.fromString('dry-run'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Dry run: the rollback planned'),
    );
    return choose.next(
      new sfn.Choice(this, 'Roll back or restart?')
        .when(sfn.Condition.and(sfn.Condition.stringEquals('$.decision.fix', 'rollback'), sfn.Condition.booleanEquals('$.incident.dryRun', true)), dryRun)
        .when(sfn.Condition.stringEquals('$.decision.fix', 'rollback'), gated)
        .otherwise(restart),
    );
  }
}

function unavailable(scope: Construct, name: string): sfn.Pass {
  return new sfn.Pass(scope, name, {
    parameters: { unavailable: true, 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
  });
}
