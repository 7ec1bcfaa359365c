import { DeregisterTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { ecsClient, once } from '#commons/clients';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { requireManaged } from '#commons/incident';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { deploymentPlanSchema } from '#deployments/schemas';

export interface DiscardRevisionDeps {
  ecs: ECSClient;
  config: Pick<Config, 'managedServices'>;
}

const inputSchema = z.object({ deployment: deploymentPlanSchema }).strict();

/**
 * A deploy rejected (or not approved) before its update leaves nothing behind: the revision it
 * registered is deregistered (INACTIVE), so no later "previous revision" lookup can pick a
 * revision that never ran. Only a revision this deploy registered, and never one the service runs.
 */
export async function discardRevision(event: unknown, deps: DiscardRevisionDeps): Promise<{ discarded: string | undefined; why: string }> {
  const { deployment: plan } = parseInput(inputSchema, event, 'discard-revision input');
  requireManaged(deps.config, plan.service);
  if (!plan.registered) return { discarded: undefined, why: `${plan.to.taskDefinition} was not registered by this deploy: kept` };
  const service = await describeService(deps.ecs, plan.cluster, plan.service);
  if ((service.deployments ?? []).some((d) => d.taskDefinition === plan.to.taskDefinition)) {
    return { discarded: undefined, why: `${plan.service} runs ${plan.to.taskDefinition}: kept` };
  }
  await deps.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: plan.to.taskDefinition }));
  return { discarded: plan.to.taskDefinition, why: 'registered by this deploy and never deployed' };
}

const defaults = once(() => ({ ecs: ecsClient(), config: configFromEnv() }));
const log = once(() => createLogger('discard-revision'));
export const handler = step('discard-revision', log, (event) => discardRevision(event, defaults()));
