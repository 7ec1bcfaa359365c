import * as z from 'zod';

/**
 * Deployment-time configuration, read once per container from the environment the stack sets.
 * The sandbox builds the same object from its scenario instead.
 */
export interface Config {
  /** Cluster used when a start input names none. */
  defaultCluster: string | undefined;
  /** Services the workflows may act on; empty means any service in the cluster. */
  managedServices: string[];
  /** Log group for a service when the input names none: the runbook's /ecs/<service>. */
  logGroupPattern: string;
  /** Per-service settings from the stack configuration (`services[]`): they apply to every start. */
  serviceSettings: Record<string, ServiceSettings>;
  /** Seconds a fresh task usually needs to start and pass health checks. */
  expectedStartSeconds: number;
  /** Timeout for the verify step's HTTP health request. */
  healthRequestTimeoutMs: number;
  /** DynamoDB table of incident records (one active incident per service). */
  incidentsTable: string;
  /** DynamoDB table of approval requests (task tokens stay here, never in Slack). */
  approvalsTable: string;
  /** DynamoDB table of the waits in progress (stability watches and their task tokens). */
  watchesTable: string;
  /** How long a service lock taken by a console start lasts (the stack sets the longest execution plus a margin). */
  lockSeconds: number;
}

/**
 * How P1 "Degraded Performance" scales a service out and back (runbook: CPU should be < 70 %;
 * scale 2 → 4). Every field has the runbook's or a conservative default.
 */
export const scalingPolicySchema = z
  .object({
    /** CPU or memory above this percent (average of the newest 3 one-minute datapoints, as a 3-of-3 alarm sees it): saturated. */
    thresholdPercent: z.number().min(1).max(100).default(70),
    /** The new desired count is ceil(current × factor): 2 → 4 by default, as in the runbook. */
    scaleOutFactor: z.number().min(1.1).max(10).default(2),
    /** Never more desired tasks than this (Application Auto Scaling's maximum caps it too). */
    maxCount: z.number().int().min(1).max(1000).default(10),
    /** A scale-out adding more tasks than this waits for a person's approval. */
    approvalAboveStep: z.number().int().min(0).max(1000).default(4),
    /** How long after the scale-out the load must be back under the threshold, or P0 takes over. */
    recoveryMinutes: z.number().int().min(5).max(240).default(20),
    /** Scale back only after this long with the CPU, projected onto the original count, under scaleBackBelowPercent (default 50 %: well under the 70 % threshold). */
    quietMinutes: z.number().int().min(5).max(1440).default(120),
    scaleBackBelowPercent: z.number().min(1).max(100).default(50),
  })
  .strict()
  .refine((p) => p.scaleBackBelowPercent < p.thresholdPercent, { message: 'scaleBackBelowPercent must be below thresholdPercent, or the service would flap', path: ['scaleBackBelowPercent'] });
export type ScalingPolicy = z.output<typeof scalingPolicySchema>;

/** What a team configures per service; a start input may still override each field. */
export const serviceSettingsSchema = z
  .object({
    logGroup: z.string().min(1).optional(),
    healthUrl: z.url({ protocol: /^https?$/ }).optional(),
    restartMode: z.enum(['force-new-deployment', 'scale-to-zero']).optional(),
    expectedStartSeconds: z.number().int().min(0).max(3600).optional(),
    scaling: scalingPolicySchema.optional(),
  })
  .strict();

/** The service's scaling policy, defaults filled. */
export function scalingPolicyFor(config: Pick<Config, 'serviceSettings'>, service: string): ScalingPolicy {
  return config.serviceSettings[service]?.scaling ?? scalingPolicySchema.parse({});
}
export type ServiceSettings = z.output<typeof serviceSettingsSchema>;

const envSchema = z.object({
  DEFAULT_CLUSTER: z.string().min(1).optional(),
  MANAGED_SERVICES: z.string().optional(),
  LOG_GROUP_PATTERN: z.string().min(1).default('/ecs/{service}'),
  SERVICE_SETTINGS: z
    .string()
    .default('{}')
    .transform((raw, ctx) => {
      try {
        return z.record(z.string(), serviceSettingsSchema).parse(JSON.parse(raw));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'SERVICE_SETTINGS must be a JSON object of service → {logGroup, healthUrl, restartMode, expectedStartSeconds}' });
        return z.NEVER;
      }
    }),
  EXPECTED_START_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  HEALTH_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5000),
  INCIDENTS_TABLE: z.string().min(1).default('incident-flows-incidents'),
  APPROVALS_TABLE: z.string().min(1).default('incident-flows-approvals'),
  WATCHES_TABLE: z.string().min(1).default('incident-flows-stability-watches'),
  INCIDENT_LOCK_SECONDS: z.coerce.number().int().min(60).default(7200),
});

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const e = envSchema.parse(env);
  return {
    defaultCluster: e.DEFAULT_CLUSTER,
    managedServices: (e.MANAGED_SERVICES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    logGroupPattern: e.LOG_GROUP_PATTERN,
    serviceSettings: e.SERVICE_SETTINGS,
    expectedStartSeconds: e.EXPECTED_START_SECONDS,
    healthRequestTimeoutMs: e.HEALTH_REQUEST_TIMEOUT_MS,
    incidentsTable: e.INCIDENTS_TABLE,
    approvalsTable: e.APPROVALS_TABLE,
    watchesTable: e.WATCHES_TABLE,
    lockSeconds: e.INCIDENT_LOCK_SECONDS,
  };
}

export function logGroupFor(config: Pick<Config, 'serviceSettings' | 'logGroupPattern'>, service: string): string {
  return config.serviceSettings[service]?.logGroup ?? config.logGroupPattern.replaceAll('{service}', service);
}
