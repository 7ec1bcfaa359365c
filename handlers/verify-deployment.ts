import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as z from 'zod';
import { ecsClient, elbv2Client, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { configFromEnv, type Config } from '#commons/config';
import { describeService } from '#commons/ecs';
import { requireManaged } from '#commons/incident';
import { createLogger } from '#commons/logger';
import { incidentSchema } from '#commons/schemas';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { checkUrls } from './prepare-deploy.ts';
import { deploymentPlanSchema, type SmokeCheck } from '#deployments/schemas';
import { readStability } from '#stability/reading';

export interface VerifyDeploymentDeps {
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  clock: Clock;
  config: Pick<Config, 'managedServices' | 'serviceSettings' | 'healthRequestTimeoutMs'>;
  fetch: typeof fetch;
}

export interface CheckResult {
  url: string;
  ok: boolean;
  status?: number;
  error?: string;
  millis: number;
}

export interface DeploymentVerification {
  verified: boolean;
  /** What passed, or every check that failed, in an on-call engineer's words. */
  reasons: string[];
  /** The revision ECS rolls out (PRIMARY) — the intended one, or ECS's own rollback's. */
  runningRevision: string | undefined;
  runningCount: number;
  desiredCount: number;
  checks: CheckResult[];
  checkedAt: string;
}

const inputSchema = z.object({ incident: incidentSchema, deployment: deploymentPlanSchema }).strict();

/** Bytes of an answer read for a `contains` check, at most. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Runbook › Post-Deployment Verification: the service runs the intended revision and is stable
 * (tasks, container health, load-balancer targets), its health URL answers 2xx, and each smoke
 * check gets its expected answer.
 */
export async function verifyDeployment(event: unknown, deps: VerifyDeploymentDeps): Promise<DeploymentVerification> {
  const { deployment: plan } = parseInput(inputSchema, event, 'verify-deployment input');
  requireManaged(deps.config, plan.service);
  // Checked again here: a step invoked by hand fetches no more than a start could.
  checkUrls(plan, deps.config.serviceSettings[plan.service]?.healthUrl);
  const service = await describeService(deps.ecs, plan.cluster, plan.service);
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const reasons: string[] = [];
  if (primary?.taskDefinition !== plan.to.taskDefinition) {
    reasons.push(`ECS rolls out ${primary?.taskDefinition ?? 'nothing'}, not ${plan.to.taskDefinition}${primary?.rolloutStateReason ? ` (${primary.rolloutStateReason})` : ''}`);
  }
  const reading = await readStability(deps, service);
  if (!reading.stable) reasons.push(`not stable: ${reading.waitingFor.join('; ')}`);
  const checks: CheckResult[] = [];
  if (plan.healthUrl) checks.push(await probe({ url: plan.healthUrl, expectStatus: 200 }, deps, true));
  for (const check of plan.smokeChecks) checks.push(await probe(check, deps, false));
  for (const c of checks.filter((c) => !c.ok)) reasons.push(`${c.url} answered ${c.status ?? c.error}`);
  const verified = reasons.length === 0;
  if (verified) reasons.push(`${plan.to.taskDefinition} is stable${checks.length ? ` and ${checks.length} check(s) passed` : ' (no health URL or smoke checks configured)'}`);
  return { verified, reasons, runningRevision: primary?.taskDefinition, runningCount: service.runningCount ?? 0, desiredCount: service.desiredCount ?? 0, checks, checkedAt: deps.clock.now().toISOString() };
}

/** One GET: the health URL passes on any 2xx, a smoke check on its expected status (and text). */
async function probe(check: Pick<SmokeCheck, 'url' | 'expectStatus' | 'contains'>, deps: VerifyDeploymentDeps, any2xx: boolean): Promise<CheckResult> {
  const started = performance.now();
  const millis = () => Math.round(performance.now() - started);
  try {
    const res = await deps.fetch(check.url, { signal: AbortSignal.timeout(deps.config.healthRequestTimeoutMs), redirect: 'manual' });
    const statusOk = any2xx ? res.status >= 200 && res.status < 300 : res.status === check.expectStatus;
    if (!check.contains) {
      await res.body?.cancel();
      return { url: check.url, ok: statusOk, status: res.status, millis: millis() };
    }
    const text = await readBounded(res);
    const found = text.includes(check.contains);
    return { url: check.url, ok: statusOk && found, status: res.status, ...(found ? {} : { error: `no "${check.contains}" in the answer` }), millis: millis() };
  } catch (err) {
    return { url: check.url, ok: false, error: (err as Error).name, millis: millis() };
  }
}

async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_BODY_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel();
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

const defaults = once(() => ({ ecs: ecsClient(), elbv2: elbv2Client(), clock: systemClock, config: configFromEnv(), fetch: globalThis.fetch }));
const log = once(() => createLogger('verify-deployment'));
export const handler = step('verify-deployment', log, (event) => verifyDeployment(event, defaults()));
