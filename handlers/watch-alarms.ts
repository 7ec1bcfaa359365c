import { DescribeAlarmsCommand, type CloudWatchClient, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { cloudWatchClient, ecsClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { InvalidInputError } from '#commons/errors';
import { requireManaged } from '#commons/incident';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { deploymentPlanSchema } from '#deployments/schemas';

export interface WatchAlarmsDeps {
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  clock: Clock;
  config: Pick<Config, 'managedServices'>;
}

export interface Firing {
  alarm: string;
  reason: string;
  since?: string;
}

export interface BakeReading {
  /** No watched alarm in ALARM and the service still runs the new revision. */
  quiet: boolean;
  /** The bake period is over (and it was quiet). */
  done: boolean;
  firing: Firing[];
  watched: string[];
  startedAt: string;
  until: string;
  checkedAt: string;
}

const inputSchema = z
  .object({
    deployment: deploymentPlanSchema,
    startedAt: z.iso.datetime().describe('when the bake began (ISO 8601): the verification\'s checkedAt'),
    changedAt: z.iso.datetime().describe('when the service was updated (ISO 8601): an alarm already in ALARM before it is not this deployment\'s'),
  })
  .strict();

/** DescribeAlarms pages, at most: 50 alarms a page, far more than one service has. */
const MAX_PAGES = 10;

/**
 * The bake: the service's CloudWatch alarms stay OK for the bake period after a verified deployment
 * (CodeDeploy's alarm-based rollback, without its second target group). Alarms are evaluated once a
 * minute, so the workflow looks once a minute. The watched alarms are the ones the start input
 * named, else the service's own (named "<service>-…", as the alarm routes expect). An alarm that
 * fires also reaches start-incident, which records it on the deployment holding the service.
 */
export async function watchAlarms(event: unknown, deps: WatchAlarmsDeps): Promise<BakeReading> {
  const { deployment: plan, startedAt, changedAt } = parseInput(inputSchema, event, 'watch-alarms input');
  requireManaged(deps.config, plan.service);
  const alarms = await alarmsOf(deps.cloudwatch, plan.service, plan.alarms);
  const firing: Firing[] = alarms
    // Already firing before the update (and still): not this deployment's doing — it may even be its fix.
    .filter((a) => a.StateValue === 'ALARM' && (a.StateUpdatedTimestamp?.getTime() ?? Infinity) >= Date.parse(changedAt))
    .map((a) => ({ alarm: a.AlarmName ?? '?', reason: a.StateReason ?? '', ...(a.StateUpdatedTimestamp ? { since: a.StateUpdatedTimestamp.toISOString() } : {}) }));
  // Someone (or ECS's own circuit breaker) moved the service off the new revision while it baked.
  const service = await describeService(deps.ecs, plan.cluster, plan.service);
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition;
  if (primary !== plan.to.taskDefinition) firing.push({ alarm: '(ECS)', reason: `the service now rolls out ${primary ?? 'nothing'}, not ${plan.to.taskDefinition}` });
  const now = deps.clock.now();
  const until = new Date(Date.parse(startedAt) + plan.bakeMinutes * 60_000);
  const quiet = firing.length === 0;
  return { quiet, done: quiet && now >= until, firing, watched: alarms.map((a) => a.AlarmName ?? '?'), startedAt, until: until.toISOString(), checkedAt: now.toISOString() };
}

/** The named alarms (each must exist), or every alarm named "<service>-…". */
export async function alarmsOf(cloudwatch: CloudWatchClient, service: string, names: string[] | undefined): Promise<MetricAlarm[]> {
  const found: MetricAlarm[] = [];
  let NextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await cloudwatch.send(
      new DescribeAlarmsCommand({ ...(names ? { AlarmNames: names } : { AlarmNamePrefix: `${service}-` }), AlarmTypes: ['MetricAlarm'], MaxRecords: 50, ...(NextToken ? { NextToken } : {}) }),
    );
    found.push(...(out.MetricAlarms ?? []));
    NextToken = out.NextToken;
    if (!NextToken) break;
  }
  const missing = (names ?? []).filter((n) => !found.some((a) => a.AlarmName === n));
  if (missing.length > 0) throw new InvalidInputError(`field "alarms": no CloudWatch alarm named ${missing.map((n) => JSON.stringify(n)).join(', ')} in this account and region — check the names (aws cloudwatch describe-alarms)`);
  return found;
}

const defaults = once(() => ({ cloudwatch: cloudWatchClient(), ecs: ecsClient(), clock: systemClock, config: configFromEnv() }));
const log = once(() => createLogger('watch-alarms'));
export const handler = step('watch-alarms', log, (event) => watchAlarms(event, defaults()));
