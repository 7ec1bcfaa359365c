import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_APPROVAL_POLICY, escalationMinutes, ruleFor, type ApprovalPolicy } from '#commons/policy';
import type { HandlerName } from '../handlers/registry.ts';
import { approvalWithEscalation } from './approval.ts';
import { lambdaStep, waitUntilStable } from './fragments.ts';
import { ESCALATED, REJECTED } from './p0-system-down.ts';

export interface P1DegradedProps {
  functions: Record<HandlerName, IFunction>;
  /** Opens the P0 when P1 does not recover the service (built with the incident settings, infra/stack.ts). */
  escalateIncident: IFunction;
  stateMachineName?: string;
  timeout?: Duration;
  requestApproval?: IFunction;
  policy?: ApprovalPolicy;
  /** The longest recovery bound of the configured services' scaling policies (default 20 min). */
  recoveryMinutes?: number;
}

export const WORKFLOW = 'p1-degraded';

/** How often the recovery is looked at: the runbook watches every 30 s; CloudWatch has one datapoint a minute. */
const MONITOR_EVERY = Duration.seconds(60);

/**
 * Runbook › Incident Response › P1 Incident (Degraded Performance): check metrics → scale out
 * (2 → 4, or the scalable target's minimum where autoscaling manages the service) → wait until
 * stable → monitor recovery, bounded → verify. Not recovered in time: the incident becomes a P0
 * (the same incident, through start-incident's path). Metrics normal: no action, the figures in
 * the record. Scaling back after a quiet period is the reconciler's (handlers/reconcile.ts).
 */
export class P1Degraded extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: P1DegradedProps) {
    super(scope, id);
    const rule = ruleFor(props.policy ?? DEFAULT_APPROVAL_POLICY, WORKFLOW, 'scale-out');
    // A wait (≤ 45 min), the recovery bound, a margin, plus the approval escalation.
    this.timeout = props.timeout ?? Duration.minutes(60 + (props.recoveryMinutes ?? 20) + (props.requestApproval ? escalationMinutes(rule.escalation) : 0));
    const fn = props.functions;
    const incident = sfn.JsonPath.objectAt('$.incident');
    const execution = sfn.JsonPath.stringAt('$$.Execution.Id');

    // Fail-safe: whatever went wrong, the service keeps at least the tasks it had before.
    const escalate = new sfn.Fail(this, 'Escalate to people', {
      error: ESCALATED,
      cause: 'The scale-out did not complete; the desired count is at least what it was. A person must take over.',
    });
    const restore = lambdaStep(this, 'Restore the desired count', fn['restore-desired-count'], {
      parameters: { incident, desiredCount: sfn.JsonPath.numberAt('$.assessment.desiredCount') },
      resultPath: '$.restoration',
    });
    restore.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    restore.addCatch(
      new sfn.Fail(this, 'Escalate: the desired count could not be checked', {
        error: ESCALATED,
        cause: 'The fail-safe could not check the desired count. Check the service NOW.',
      }),
      { resultPath: '$.restorationError' },
    );
    const failSafe = restore.next(escalate);

    // Not recovered by scaling: the same incident becomes a P0 (restart, redeploy, people).
    const toP0 = lambdaStep(this, 'Escalate the incident to P0', props.escalateIncident, {
      parameters: { incident, execution, at: sfn.JsonPath.stringAt('$.assessment.checkedAt'), reason: sfn.JsonPath.format('P1 could not recover {} by scaling out ({}): see the P1 execution', sfn.JsonPath.stringAt('$.incident.service'), sfn.JsonPath.stringAt('$.assessment.verdict')) },
      resultPath: '$.escalation',
    });
    const p0Failed = new sfn.Fail(this, 'Escalate: P0 could not be started', {
      error: ESCALATED,
      cause: 'Scaling out did not recover the service and no P0 execution could be started. A person must take over.',
    });
    toP0.addCatch(p0Failed, { resultPath: '$.error' });
    toP0.next(
      new sfn.Choice(this, 'Did P0 take over?')
        .when(
          sfn.Condition.booleanEquals('$.escalation.escalated', true),
          new sfn.Pass(this, 'Record: escalated to P0', { result: sfn.Result.fromString('escalated-to-p0'), resultPath: '$.outcome' }).next(
            new sfn.Succeed(this, 'P0 took over the incident'),
          ),
        )
        .otherwise(p0Failed),
    );

    const recovered = new sfn.Pass(this, 'Record: recovered', { result: sfn.Result.fromString('recovered'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Service recovered'),
    );
    const verify = lambdaStep(this, 'Verify recovery', fn.verify, { parameters: { incident }, resultPath: '$.verification' });
    verify.addCatch(failSafe, { resultPath: '$.error' });
    verify.next(new sfn.Choice(this, 'Did the service recover?').when(sfn.Condition.booleanEquals('$.verification.recovered', true), recovered).otherwise(toP0));

    // Runbook: "Monitor Recovery" — bounded by the policy's recovery time (in the handler).
    const monitor = lambdaStep(this, 'Monitor recovery', fn['monitor-load'], {
      parameters: {
        incident,
        thresholdPercent: sfn.JsonPath.numberAt('$.load.thresholdPercent'),
        scaledTo: sfn.JsonPath.numberAt('$.scaleOut.scaledTo'),
        startedAt: sfn.JsonPath.stringAt('$.scaleOut.startedAt'),
      },
      resultPath: '$.recovery',
    });
    monitor.addCatch(failSafe, { resultPath: '$.error' });
    const again = new sfn.Wait(this, 'Wait a minute for the next datapoint', { time: sfn.WaitTime.duration(MONITOR_EVERY) });
    again.next(monitor);
    monitor.next(
      new sfn.Choice(this, 'Is the load back under the threshold?')
        .when(sfn.Condition.booleanEquals('$.recovery.recovered', true), verify)
        .when(sfn.Condition.booleanEquals('$.recovery.expired', true), toP0)
        .otherwise(again),
    );

    const scale = lambdaStep(this, 'Scale the service out', fn['scale-out'], {
      parameters: { incident, to: sfn.JsonPath.numberAt('$.plan.to'), execution },
      resultPath: '$.scaleOut',
    });
    scale.addCatch(failSafe, { resultPath: '$.error' });
    scale.next(
      new sfn.Choice(this, 'Is this a dry run?')
        .when(
          sfn.Condition.booleanEquals('$.incident.dryRun', true),
          new sfn.Pass(this, 'Record: dry run', { result: sfn.Result.fromString('dry-run'), resultPath: '$.outcome' }).next(new sfn.Succeed(this, 'Dry run: planned changes recorded')),
        )
        .otherwise(
          waitUntilStable(this, {
            what: 'the scale-out',
            watch: 'scale-out',
            watchStability: fn['watch-stability'],
            changePath: '$.scaleOut',
            statePath: '$.scaleOutStability',
            onStable: monitor,
            onGaveUp: toP0,
            onError: failSafe,
          }),
        ),
    );

    // A step larger than the policy allows alone waits for a person (docs/approvals.md).
    let remediate: sfn.IChainable = scale;
    if (props.requestApproval) {
      const approval = approvalWithEscalation(this, {
        what: 'the scale-out',
        workflow: WORKFLOW,
        action: 'scale-out',
        severity: 'P1',
        requestApproval: props.requestApproval,
        escalation: rule.escalation,
        evidence: { assessment: '$.assessment', load: '$.load', plan: '$.plan' },
        resultPath: '$.approval',
        onApproved: scale,
        onRejected: new sfn.Fail(this, 'Stop: the scale-out was rejected', {
          error: REJECTED,
          cause: 'A person rejected the scale-out; nothing was changed on the service. The incident stays with people.',
        }),
        onNoAnswer:
          rule.onNoAnswer === 'proceed'
            ? scale
            : new sfn.Fail(this, 'Escalate: nobody approved the scale-out', {
                error: ESCALATED,
                cause: `Nobody approved the scale-out within ${escalationMinutes(rule.escalation)} minutes; failed closed, nothing was changed on the service.`,
              }),
        onError: new sfn.Fail(this, 'Escalate: approval could not be requested', {
          error: ESCALATED,
          cause: 'The approval request failed; failed closed, nothing was changed on the service. A person must take over.',
        }),
      });
      const dryRun = sfn.Condition.booleanEquals('$.incident.dryRun', true);
      const needed = rule.mode === 'approval' ? sfn.Condition.not(dryRun) : sfn.Condition.and(sfn.Condition.booleanEquals('$.plan.needsApproval', true), sfn.Condition.not(dryRun));
      remediate = new sfn.Choice(this, 'Does the scale-out need approval?').when(needed, approval).otherwise(scale);
    }

    const noAction = new sfn.Pass(this, 'Record: no action needed', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Load is normal: no action'),
    );
    const atMaximum = new sfn.Fail(this, 'Escalate: already at its maximum', {
      error: ESCALATED,
      cause: 'The service is saturated and already at its maximum desired count (policy, start input or autoscaling): scaling cannot help. Nothing was changed. A person must take over.',
    });

    // Bad start input fails right here, before anything is touched, with an error naming the field.
    const check = lambdaStep(this, 'Check metrics', fn['assess-load']);
    const definition = check.next(
      new sfn.Choice(this, 'Is the service saturated?')
        .when(sfn.Condition.stringEquals('$.assessment.verdict', 'down'), toP0)
        .when(sfn.Condition.not(sfn.Condition.stringEquals('$.assessment.verdict', 'saturated')), noAction)
        .when(sfn.Condition.booleanEquals('$.plan.atMaximum', true), atMaximum)
        .otherwise(remediate),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook P1 Incident (Degraded Performance): check metrics, scale out within the policy, wait until stable, monitor recovery, verify; not recovered → P0.',
    });
  }
}
