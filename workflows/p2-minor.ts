import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { MaintenanceWindow } from '../handlers/maintenance/window.ts';
import { lambdaStep } from './fragments.ts';
import { ESCALATED } from './p0-system-down.ts';

export interface P2MinorProps {
  /** The assess function (P0's first step): validates the start input, reads the service. */
  assess: IFunction;
  summarizeWarnings: IFunction;
  scheduleFix: IFunction;
  /** The stack's maintenance window (infra/config.ts), written into the definition for schedule-fix. */
  maintenanceWindow: MaintenanceWindow;
  stateMachineName?: string;
}

/**
 * Runbook › Incident Response › P2 Incident (Minor Issues), read top to bottom: assess (validates
 * the start input — the same as P0's — and reads the service, changing nothing) → analyse the WARN
 * lines of the last hour, grouped by pattern → none: no action; some: schedule the fix for the next
 * maintenance window on the incident record and post the summary to Slack. No step changes the
 * service: the state machine has no ECS mutation in it, and its functions no right to make one.
 */
export class P2Minor extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly timeout = Duration.minutes(15);

  constructor(scope: Construct, id: string, props: P2MinorProps) {
    super(scope, id);
    const incident = sfn.JsonPath.objectAt('$.incident');

    const handOver = new sfn.Fail(this, 'Hand over: the WARN lines could not be analysed', {
      error: ESCALATED,
      cause: 'The WARN log analysis or the scheduling of the fix failed; nothing was changed on the service. A person must look at the logs.',
    });

    const noAction = new sfn.Pass(this, 'Record: no WARN lines, no action', { result: sfn.Result.fromString('no-action'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'No WARN lines: no action'),
    );
    const scheduled = new sfn.Pass(this, 'Record: fix scheduled', { result: sfn.Result.fromString('scheduled-fix'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Fix scheduled for the maintenance window'),
    );

    const scheduleFix = lambdaStep(this, 'Schedule the fix for the next maintenance window', props.scheduleFix, {
      parameters: {
        incident,
        'warnings.$': '$.investigation.logs',
        maintenanceWindow: props.maintenanceWindow,
        execution: { 'arn.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' },
      },
      resultPath: '$.scheduledFix',
    });
    scheduleFix.addCatch(handOver, { resultPath: '$.error' });
    scheduleFix.next(scheduled);

    // Stored where every log review goes ($.investigation.logs): the incident report reads it as such.
    const analyse = lambdaStep(this, 'Analyse WARN logs', props.summarizeWarnings, {
      parameters: { incident, pattern: 'WARN' },
      resultPath: '$.investigation.logs',
    });
    analyse.addCatch(handOver, { resultPath: '$.error' });
    analyse.next(
      new sfn.Choice(this, 'Any WARN lines?')
        .when(sfn.Condition.numberGreaterThan('$.investigation.logs.count', 0), scheduleFix)
        .otherwise(noAction),
    );

    // Bad start input fails right here, before anything is read, with an error naming the field.
    const assess = lambdaStep(this, 'Assess impact', props.assess);
    const definition = assess.next(analyse);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook P2 Incident (Minor Issues): analyse WARN logs, summarise, schedule a fix for the next maintenance window. Changes nothing.',
    });
  }
}
