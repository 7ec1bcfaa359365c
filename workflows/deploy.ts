import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DEFAULT_APPROVAL_POLICY, escalationMinutes, ruleFor, type ApprovalPolicy } from '#commons/policy';
import type { HandlerName } from '../handlers/registry.ts';
import { approvalWithEscalation } from './approval.ts';
import { lambdaStep, recordOutcome, waitUntilStable } from './fragments.ts';
import { ESCALATED, REJECTED } from './p0-system-down.ts';

export interface DeployProps {
  functions: Record<HandlerName, IFunction>;
  /** The rollback workflow, run nested (and waited for) when anything after the update fails. */
  rollback: sfn.IStateMachine;
  /** The rollback's own time bound: the deploy waits for it. */
  rollbackTimeout: Duration;
  stateMachineName?: string;
  timeout?: Duration;
  requestApproval?: IFunction;
  policy?: ApprovalPolicy;
}

export const WORKFLOW = 'deploy';
/** Error name of a deploy that failed and was rolled back: the service is fine, the deployment is not. */
export const ROLLED_BACK = 'DeploymentRolledBack';
/** The longest bake a start input may ask for (handlers/deployments/schemas.ts). */
const MAX_BAKE_MINUTES = 180;
/** CloudWatch evaluates alarms once a minute: look as often during the bake. */
const BAKE_EVERY = Duration.seconds(60);

/**
 * Runbook › Standard Deployment, read top to bottom: check the input, take the service, back it up
 * and register the new revision → [approval, per the policy for the environment] → update the
 * service → wait until stable (deployment events, circuit breaker, failed tasks) → verify (health
 * URL, smoke checks) → bake (the service's alarms stay OK). Anything failing after the update runs
 * the rollback workflow, nested, and the deploy ends DeploymentRolledBack — or, if the rollback
 * itself fails, escalated to people.
 */
export class Deploy extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: DeployProps) {
    super(scope, id);
    const policy = props.policy ?? DEFAULT_APPROVAL_POLICY;
    const production = ruleFor(policy, WORKFLOW, 'deploy-production');
    const staging = ruleFor(policy, WORKFLOW, 'deploy-staging');
    const approvalMinutes = props.requestApproval ? Math.max(escalationMinutes(production.escalation), escalationMinutes(staging.escalation)) : 0;
    // A wait (≤ 45 min), verify, the longest bake, the nested rollback, a margin, plus the approval.
    this.timeout = props.timeout ?? Duration.minutes(60 + MAX_BAKE_MINUTES + props.rollbackTimeout.toMinutes() + 15 + approvalMinutes);
    const fn = props.functions;
    const change = { incident: sfn.JsonPath.objectAt('$.incident'), deployment: sfn.JsonPath.objectAt('$.deployment') };

    // ---- Automatic rollback: the rollback workflow, nested, waited for.
    const rollbackFailed = new sfn.Fail(this, 'Escalate: the automatic rollback did not complete', {
      error: ESCALATED,
      cause: 'The deployment failed and the automatic rollback did not complete: the service may run the new revision. A person must take over.',
    });
    const rolledBack = new sfn.Pass(this, 'Record: rolled back', { result: sfn.Result.fromString('rolled-back'), resultPath: '$.outcome' }).next(
      new sfn.Fail(this, 'Stop: the deployment was rolled back', {
        error: ROLLED_BACK,
        cause: 'The deployment failed (see "failure" in the execution) and was rolled back: the service runs its previous revision, stable and verified.',
      }),
    );
    const rollback = new tasks.StepFunctionsStartExecution(this, 'Roll back to the previous revision', {
      stateMachine: props.rollback,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      input: sfn.TaskInput.fromObject({
        service: sfn.JsonPath.stringAt('$.deployment.service'),
        cluster: sfn.JsonPath.stringAt('$.deployment.cluster'),
        mode: 'quick',
        deployment: sfn.JsonPath.stringAt('$.deployment.backup'),
        automatic: true,
        reason: sfn.JsonPath.stringAt('$.failure.what'),
        trigger: { kind: 'manual', by: sfn.JsonPath.format('deploy {}', sfn.JsonPath.stringAt('$$.Execution.Name')) },
        smokeChecks: sfn.JsonPath.objectAt('$.deployment.smokeChecks'),
        expectedStartSeconds: sfn.JsonPath.numberAt('$.incident.expectedStartSeconds'),
      }),
      resultSelector: { status: sfn.JsonPath.stringAt('$.Status'), execution: sfn.JsonPath.stringAt('$.ExecutionArn'), outcome: sfn.JsonPath.objectAt('$.Output.outcome') },
      resultPath: '$.rollback',
    });
    rollback.addCatch(rollbackFailed, { resultPath: '$.rollbackError' });
    rollback.next(rolledBack);
    /** What failed, for the rollback's reason and the record; then the rollback. */
    const rollBackBecause = (name: string, what: string) =>
      new sfn.Pass(this, `Note: ${name}`, { parameters: { what }, resultPath: '$.failure' }).next(rollback);
    const notStable = rollBackBecause('the deployment did not stabilise', 'the new revision did not become stable (failed tasks, the circuit breaker, or no progress)');
    const unverified = rollBackBecause('the deployment failed verification', 'the new revision failed verification (revision, stability, health URL or smoke checks)');
    const alarmed = rollBackBecause('an alarm fired while baking', 'a watched alarm went into ALARM (or the service left the new revision) while the deployment baked');
    const broke = rollBackBecause('a step failed after the update', 'a step after the update failed (see the error in the execution)');

    // ---- Bake: the alarms stay OK for the bake period, looked at once a minute.
    const bake = lambdaStep(this, 'Watch the alarms while baking', fn['watch-alarms'], {
      parameters: { deployment: sfn.JsonPath.objectAt('$.deployment'), startedAt: sfn.JsonPath.stringAt('$.verification.checkedAt'), changedAt: sfn.JsonPath.stringAt('$.update.startedAt') },
      resultPath: '$.bake',
    });
    bake.addCatch(broke, { resultPath: '$.error' });
    const nextLook = new sfn.Wait(this, 'Wait a minute for the next alarm evaluation', { time: sfn.WaitTime.duration(BAKE_EVERY) });
    nextLook.next(bake);
    bake.next(
      new sfn.Choice(this, 'Are the alarms quiet?')
        .when(sfn.Condition.booleanEquals('$.bake.quiet', false), alarmed)
        .when(sfn.Condition.booleanEquals('$.bake.done', true), recordOutcome(this, 'deployed', 'Deployed'))
        .otherwise(nextLook),
    );

    const verify = lambdaStep(this, 'Verify the deployment', fn['verify-deployment'], { parameters: change, resultPath: '$.verification' });
    verify.addCatch(broke, { resultPath: '$.error' });
    verify.next(new sfn.Choice(this, 'Did the deployment pass verification?').when(sfn.Condition.booleanEquals('$.verification.verified', true), bake).otherwise(unverified));

    const apply = lambdaStep(this, 'Deploy the new revision', fn['apply-revision'], { parameters: change, resultPath: '$.update' });
    apply.addCatch(broke, { resultPath: '$.error' });
    apply.next(
      waitUntilStable(this, {
        what: 'the deployment',
        watch: 'deploy',
        watchStability: fn['watch-stability'],
        changePath: '$.update',
        statePath: '$.stability',
        onStable: verify,
        onGaveUp: notStable,
        onError: broke,
      }),
    );

    // ---- Approval per the environment's rule; a rejected deploy leaves no revision behind.
    let gated: sfn.IChainable = apply;
    if (props.requestApproval) {
      const discard = (name: string, end: sfn.IChainable) => {
        const step = lambdaStep(this, `Discard the new revision (${name})`, fn['discard-revision'], { parameters: { deployment: sfn.JsonPath.objectAt('$.deployment') }, resultPath: '$.discarded' });
        step.addCatch(end, { resultPath: '$.discardError' });
        return step.next(end);
      };
      const rule = production.escalation.length >= staging.escalation.length ? production : staging;
      const approval = approvalWithEscalation(this, {
        what: 'the deployment',
        workflow: WORKFLOW,
        action: 'deploy',
        severity: 'Deploy',
        requestApproval: props.requestApproval,
        escalation: rule.escalation,
        evidence: { deployment: '$.deployment' },
        resultPath: '$.approval',
        onApproved: apply,
        onRejected: discard('rejected', new sfn.Fail(this, 'Stop: the deployment was rejected', { error: REJECTED, cause: 'A person rejected the deployment; the service was not changed.' })),
        onNoAnswer: discard(
          'not approved',
          new sfn.Fail(this, 'Stop: nobody approved the deployment', {
            error: ESCALATED,
            cause: `Nobody approved the deployment within ${escalationMinutes(rule.escalation)} minutes; failed closed, the service was not changed.`,
          }),
        ),
        onError: discard('approval failed', new sfn.Fail(this, 'Stop: approval could not be requested', { error: ESCALATED, cause: 'The approval request failed; failed closed, the service was not changed.' })),
      });
      const env = (name: string) => sfn.Condition.stringEquals('$.deployment.environment', name);
      const conditions = [sfn.Condition.booleanEquals('$.deployment.needsApproval', true)];
      if (production.mode === 'approval') conditions.push(env('production'));
      if (staging.mode === 'approval') conditions.push(env('staging'));
      gated = new sfn.Choice(this, 'Does the deployment need approval?').when(conditions.length > 1 ? sfn.Condition.or(...conditions) : conditions[0]!, approval).otherwise(apply);
    }

    // Bad input (a malformed image, an unknown revision), a busy service: refused here, nothing changed.
    const prepare = lambdaStep(this, 'Back up the service and register the new revision', fn['prepare-deploy'], {
      parameters: { input: sfn.JsonPath.entirePayload, execution: sfn.JsonPath.stringAt('$$.Execution.Id') },
    });
    const definition = prepare.next(
      new sfn.Choice(this, 'Is there anything to deploy?')
        .when(sfn.Condition.booleanEquals('$.deployment.dryRun', true), recordOutcome(this, 'dry-run', 'Dry run: the deployment planned, nothing changed'))
        .when(sfn.Condition.booleanEquals('$.noChange', true), recordOutcome(this, 'already-deployed', 'The service already runs it'))
        .otherwise(gated),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook Standard Deployment: backup, register, approval, update, wait until stable, verify, bake on the alarms; any failure → the rollback workflow (nested).',
    });
  }
}
