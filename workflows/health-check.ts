import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HealthPlan } from '../handlers/health/plan.ts';
import { lambdaStep } from './fragments.ts';
import { ESCALATED } from './p0-system-down.ts';

export interface HealthCheckFunctions {
  'plan-health-check': IFunction;
  'check-services': IFunction;
  'check-functions': IFunction;
  'check-tables': IFunction;
  'check-metrics': IFunction;
  'report-health': IFunction;
  'raise-health-incidents': IFunction;
}

export interface HealthCheckProps {
  functions: HealthCheckFunctions;
  /** The configured plan (infra/config.ts `healthCheck` plus the stack's cluster and services), written into the definition. */
  plan: HealthPlan;
  stateMachineName?: string;
}

/**
 * Runbook › Daily Operations › Health Checks (`health-check.sh`) and Monitoring Review, read top to
 * bottom: plan (validates the start input) → check every component at once (ECS services, Lambda
 * functions, DynamoDB tables, the last hour's metrics) → report, one line per component, to Slack →
 * open an incident for each failing line configured to. A check that cannot run is a red line, not
 * a silent gap. Reads only: opening an incident is start-incident's path, which starts P0/P1/P2.
 */
export class HealthCheck extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly timeout = Duration.minutes(15);

  constructor(scope: Construct, id: string, props: HealthCheckProps) {
    super(scope, id);
    const fn = props.functions;
    const plan = sfn.JsonPath.objectAt('$.plan');

    const check = (name: string, key: string, f: IFunction) => {
      const task = lambdaStep(this, name, f, { parameters: { plan } });
      task.addCatch(new sfn.Pass(this, `Note that ${key} could not be checked`, { parameters: { unavailable: true, 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' } }), {
        resultPath: '$.error',
      });
      return task;
    };
    const checkAll = new sfn.Parallel(this, 'Check every component', {
      resultSelector: { 'services.$': '$[0]', 'functions.$': '$[1]', 'tables.$': '$[2]', 'metrics.$': '$[3]' },
      resultPath: '$.checks',
    })
      .branch(check('Check ECS services', 'ECS services', fn['check-services']))
      .branch(check('Check Lambda functions', 'Lambda functions', fn['check-functions']))
      .branch(check('Check DynamoDB tables', 'DynamoDB tables', fn['check-tables']))
      .branch(check('Review metrics of the last hour', 'metrics', fn['check-metrics']));

    const healthy = new sfn.Pass(this, 'Record: healthy', { result: sfn.Result.fromString('healthy'), resultPath: '$.outcome' }).next(new sfn.Succeed(this, 'Every check passes'));
    const unhealthy = new sfn.Pass(this, 'Record: unhealthy', { result: sfn.Result.fromString('unhealthy'), resultPath: '$.outcome' }).next(
      new sfn.Succeed(this, 'Failing checks reported'),
    );
    const raise = lambdaStep(this, 'Open incidents for failing checks', fn['raise-health-incidents'], {
      parameters: { 'toRaise.$': '$.report.toRaise' },
      resultPath: '$.incidents',
    });
    // The report is out; an incident that could not be opened is in the execution's error, and recorded.
    raise.addCatch(new sfn.Fail(this, 'Escalate: incidents could not be opened', { error: ESCALATED, cause: 'Failing checks were reported, but opening their incidents failed: a person must look.' }), {
      resultPath: '$.error',
    });
    raise.next(unhealthy);

    const report = lambdaStep(this, 'Report to Slack', fn['report-health'], {
      parameters: { plan, 'checks.$': '$.checks', 'execution.$': '$$.Execution.Name' },
      resultPath: '$.report',
    });
    report.next(
      new sfn.Choice(this, 'Does every check pass?')
        .when(sfn.Condition.stringEquals('$.report.outcome', 'healthy'), healthy)
        .when(sfn.Condition.numberGreaterThan('$.report.raiseCount', 0), raise)
        .otherwise(unhealthy),
    );

    // Bad start input fails right here, before any call, with an error naming the field.
    const planStep = lambdaStep(this, 'Plan the health check', fn['plan-health-check'], {
      parameters: { 'input.$': '$', configured: props.plan },
    });
    const definition = planStep.next(checkAll).next(report);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: this.timeout,
      comment: 'Runbook Daily Operations: health-check.sh and the Monitoring Review — services, Lambda functions, tables, the last hour\'s metrics; report to Slack; incidents for failing lines as configured.',
    });
  }
}
