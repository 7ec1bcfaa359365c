import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ecsClient, elbv2Client, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { requireConfiguredOrigin } from '#commons/incident';
import { describeService } from '#commons/ecs';
import { readStability } from '#stability/reading';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import * as z from 'zod';

export interface VerifyDeps {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  clock: Clock;
  config: Config;
  fetch: typeof fetch;
}

export interface HealthProbe {
  url: string;
  ok: boolean;
  status?: number;
  error?: string;
  millis: number;
}

export interface Verification {
  recovered: boolean;
  reasons: string[];
  runningCount: number;
  desiredCount: number;
  health?: HealthProbe;
  checkedAt: string;
}

const inputSchema = z.object({ incident: incidentSchema }).strict();

/** Verify recovery: the service is stable and, when a health URL is configured, it answers 2xx. */
export async function verifyRecovery(event: unknown, deps: VerifyDeps): Promise<Verification> {
  const { incident } = parseInput(inputSchema, event, 'verify input');
  // Before any call: a step invoked by hand must not make this function fetch what no start could.
  // The check resolveIncident makes on a start input, made again: verify fetches from inside the account's network.
  if (incident.healthUrl) requireConfiguredOrigin(incident.service, incident.healthUrl, deps.config.serviceSettings[incident.service]?.healthUrl, 'incident.healthUrl');
  const service = await describeService(deps.ecs, incident.cluster, incident.service);
  const reasons: string[] = [];
  const reading = await readStability(deps, service);
  const stable = reading.stable;
  if (!stable) reasons.push(`not stable: ${reading.waitingFor.join('; ')}`);
  const health = incident.healthUrl ? await probe(incident.healthUrl, deps) : undefined;
  if (health && !health.ok) reasons.push(`health check ${health.url} answered ${health.status ?? health.error}`);
  if (reasons.length === 0) reasons.push(health ? `stable and ${health.url} answered ${health.status}` : 'stable (no health URL configured)');
  return {
    recovered: stable && (health?.ok ?? true),
    reasons,
    runningCount: service.runningCount ?? 0,
    desiredCount: service.desiredCount ?? 0,
    ...(health ? { health } : {}),
    checkedAt: deps.clock.now().toISOString(),
  };
}

async function probe(url: string, deps: VerifyDeps): Promise<HealthProbe> {
  const started = performance.now();
  try {
    const res = await deps.fetch(url, { signal: AbortSignal.timeout(deps.config.healthRequestTimeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return { url, ok: res.status >= 200 && res.status < 300, status: res.status, millis: Math.round(performance.now() - started) };
  } catch (err) {
    return { url, ok: false, error: (err as Error).name, millis: Math.round(performance.now() - started) };
  }
}

const defaults = once(() => ({ ecs: ecsClient(), elbv2: elbv2Client(), clock: systemClock, config: configFromEnv(), fetch: globalThis.fetch }));
const log = once(() => createLogger('verify'));
export const handler = step('verify', log, (event) => verifyRecovery(event, defaults()));
