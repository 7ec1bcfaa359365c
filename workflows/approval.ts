import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { APPROVAL_REJECTED, TIER_LABEL } from '#commons/approvals';
import { withTransientRetry } from './fragments.ts';
import type { EscalationTier } from '#commons/policy';

/**
 * Human approval with the runbook's escalation path, as a reusable fragment:
 *
 *   Ask the on-call engineer ──approved──► onApproved
 *     │ no answer in 15 min       └─rejected─► onRejected
 *   Ask the team lead ── … (the message says the on-call did not answer)
 *     │ no answer in 45 min
 *   Ask the VP engineering ── …
 *     │ no answer in 3 h
 *   onNoAnswer (fail closed unless the policy says otherwise)
 *
 * Each ask is a `lambda:invoke.waitForTaskToken` task with its own timeout: request-approval
 * stores the token server-side and posts to Slack; the Slack callback or the CLI completes it.
 */
export interface ApprovalWithEscalationProps {
  /** What is approved, in state names: "the restart" → "Ask the team lead to approve the restart". */
  what: string;
  workflow: string;
  action: string;
  severity: string;
  requestApproval: IFunction;
  escalation: EscalationTier[];
  /** Evidence for the message: key → JSONPath of something already in the state. */
  evidence: Record<string, string>;
  /** Where the decision (who, when) goes in the state. */
  resultPath: string;
  onApproved: sfn.IChainable;
  onRejected: sfn.IChainable;
  onNoAnswer: sfn.IChainable;
  /** The approval could not even be requested (e.g. the approvals table is unreachable). */
  onError: sfn.IChainable;
}

export function approvalWithEscalation(scope: Construct, p: ApprovalWithEscalationProps): sfn.IChainable {
  if (p.escalation.length === 0) throw new Error(`approval of ${p.what}: the escalation path has no tiers`);
  const evidence = Object.fromEntries(Object.entries(p.evidence).map(([k, path]) => [k, sfn.JsonPath.objectAt(path)]));
  // Built from the last tier back, so each tier's timeout can lead to the next one.
  let next: sfn.IChainable = p.onNoAnswer;
  for (let i = p.escalation.length - 1; i >= 0; i--) {
    const tier = p.escalation[i]!;
    const after = p.escalation[i + 1];
    const before = p.escalation[i - 1];
    const ask = new tasks.LambdaInvoke(scope, `Ask the ${TIER_LABEL[tier.tier]} to approve ${p.what}`, {
      lambdaFunction: p.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        request: {
          workflow: p.workflow,
          action: p.action,
          severity: p.severity,
          tier: tier.tier,
          timeoutSeconds: tier.timeoutMinutes * 60,
          ...(after ? { next: { tier: after.tier, timeoutMinutes: after.timeoutMinutes } } : {}),
          ...(before ? { previous: { tier: before.tier, timeoutMinutes: before.timeoutMinutes } } : {}),
        },
        incident: sfn.JsonPath.objectAt('$.incident'),
        evidence,
      }),
      resultPath: p.resultPath,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(tier.timeoutMinutes)),
      retryOnServiceExceptions: false,
      comment: `${TIER_LABEL[tier.tier]}: ${tier.timeoutMinutes} min to answer`,
    });
    withTransientRetry(ask);
    ask.addCatch(p.onRejected, { errors: [APPROVAL_REJECTED], resultPath: '$.rejection' });
    ask.addCatch(next, { errors: ['States.Timeout'], resultPath: '$.unanswered' });
    ask.addCatch(p.onError, { errors: ['States.ALL'], resultPath: '$.error' });
    ask.next(p.onApproved);
    next = ask;
  }
  return next;
}
