import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_APPROVAL_POLICY, escalationMinutes, ruleFor, type ApprovalPolicy } from '#commons/policy';
import type { HandlerName } from '../handlers/registry.ts';
import { approvalWithEscalation } from './approval.ts';
import { lambdaStep, recordOutcome, waitUntilStable } from './fragments.ts';
import { ESCALATED, REJECTED } from './p0-system-down.ts';

export interface RollbackProps {
  functions: Record<HandlerName, IFunction>;
  stateMachineName?: string;
  timeout?: Duration;
  requestApproval?: IFunction;
  policy?: ApprovalPolicy;
}

export const WORKFLOW = 'rollback';

/**
 * Runbook › Rollback Procedure, read top to bottom: decide where to go back to (quick: the revision
 * before the current deployment; full: the pre-deployment backup) — refused with nothing changed
 * when there is no known, ACTIVE revision → [approval, per the policy; the deploy workflow's own
 * automatic rollback does not wait] → update the service → wait until stable → verify.
 */
export class Rollback extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: RollbackProps) {
    super(scope, id);
    const rule = ruleFor(props.policy ?? DEFAULT_APPROVAL_POLICY, WORKFLOW, 'rollback');
    // One wait (≤ 45 min), verify, a margin, plus the approval escalation.
    this.timeout = props.timeout ?? Duration.minutes(60 + (props.requestApproval ? escalationMinutes(rule.escalation) : 0));
    const fn = props.functions;
    const change = { incident: sfn.JsonPath.objectAt('$.incident'), deployment: sfn.JsonPath.objectAt('$.deployment') };

    const failed = new sfn.Fail(this, 'Escalate: the rollback did not complete', {
      error: ESCALATED,
      cause: 'The rollback did not complete or could not be verified: the service may still run the bad revision. A person must take over.',
    });
    const verify = lambdaStep(this, 'Verify the rollback', fn['verify-deployment'], { parameters: change, resultPath: '$.verification' });
    verify.addCatch(failed, { resultPath: '$.error' });
    verify.next(
      new sfn.Choice(this, 'Is the previous revision serving?')
        .when(sfn.Condition.booleanEquals('$.verification.verified', true), recordOutcome(this, 'rolled-back', 'Rolled back'))
        .otherwise(failed),
    );

    const apply = lambdaStep(this, 'Roll the service back', fn['apply-revision'], { parameters: change, resultPath: '$.update' });
    apply.addCatch(failed, { resultPath: '$.error' });
    apply.next(
      waitUntilStable(this, {
        what: 'the rollback',
        watch: 'rollback',
        watchStability: fn['watch-stability'],
        changePath: '$.update',
        statePath: '$.stability',
        onStable: verify,
        onGaveUp: failed,
        onError: failed,
      }),
    );

    let gated: sfn.IChainable = apply;
    if (props.requestApproval) {
      const approval = approvalWithEscalation(this, {
        what: 'the rollback',
        workflow: WORKFLOW,
        action: 'rollback',
        severity: 'Rollback',
        requestApproval: props.requestApproval,
        escalation: rule.escalation,
        evidence: { deployment: '$.deployment' },
        resultPath: '$.approval',
        onApproved: apply,
        onRejected: new sfn.Fail(this, 'Stop: the rollback was rejected', { error: REJECTED, cause: 'A person rejected the rollback; nothing was changed on the service.' }),
        onNoAnswer:
          rule.onNoAnswer === 'proceed'
            ? apply
            : new sfn.Fail(this, 'Escalate: nobody approved the rollback', {
                error: ESCALATED,
                cause: `Nobody approved the rollback within ${escalationMinutes(rule.escalation)} minutes; failed closed, nothing was changed on the service.`,
              }),
        onError: new sfn.Fail(this, 'Escalate: approval could not be requested', { error: ESCALATED, cause: 'The approval request failed; failed closed, nothing was changed on the service.' }),
      });
      const asked = sfn.Condition.booleanEquals('$.deployment.needsApproval', true);
      const automatic = sfn.Condition.and(sfn.Condition.isPresent('$.deployment.automatic'), sfn.Condition.booleanEquals('$.deployment.automatic', true));
      const needed = rule.mode === 'approval' ? sfn.Condition.or(asked, sfn.Condition.not(automatic)) : asked;
      gated = new sfn.Choice(this, 'Does the rollback need approval?').when(needed, approval).otherwise(apply);
    }

    // Bad start input, no known revision to go back to, or the service busy: refused here, nothing changed.
    const prepare = lambdaStep(this, 'Decide where to roll back to', fn['prepare-rollback'], {
      parameters: { input: sfn.JsonPath.entirePayload, execution: sfn.JsonPath.stringAt('$$.Execution.Id') },
    });
    const definition = prepare.next(
      new sfn.Choice(this, 'Is this a dry run?')
        .when(sfn.Condition.booleanEquals('$.deployment.dryRun', true), recordOutcome(this, 'dry-run', 'Dry run: the rollback planned, nothing changed'))
        .otherwise(gated),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook Rollback Procedure: quick (previous revision) or full (restore the pre-deployment backup), approval per policy, wait until stable, verify.',
    });
  }
}
