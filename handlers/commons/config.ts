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
  /** Services whose log group does not follow the pattern (the stack's `services[].logGroup`). */
  serviceLogGroups: Record<string, string>;
  /** Seconds a fresh task usually needs to start and pass health checks. */
  expectedStartSeconds: number;
  /** Timeout for the verify step's HTTP health request. */
  healthRequestTimeoutMs: number;
  /** DynamoDB table of incident records (one active incident per service). */
  incidentsTable: string;
  /** DynamoDB table of approval requests (task tokens stay here, never in Slack). */
  approvalsTable: string;
}

const envSchema = z.object({
  DEFAULT_CLUSTER: z.string().min(1).optional(),
  MANAGED_SERVICES: z.string().optional(),
  LOG_GROUP_PATTERN: z.string().min(1).default('/ecs/{service}'),
  SERVICE_LOG_GROUPS: z
    .string()
    .default('{}')
    .transform((raw, ctx) => {
      try {
        return z.record(z.string(), z.string().min(1)).parse(JSON.parse(raw));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'SERVICE_LOG_GROUPS must be a JSON object of service → log group' });
        return z.NEVER;
      }
    }),
  EXPECTED_START_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  HEALTH_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5000),
  INCIDENTS_TABLE: z.string().min(1).default('incident-flows-incidents'),
  APPROVALS_TABLE: z.string().min(1).default('incident-flows-approvals'),
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
    serviceLogGroups: e.SERVICE_LOG_GROUPS,
    expectedStartSeconds: e.EXPECTED_START_SECONDS,
    healthRequestTimeoutMs: e.HEALTH_REQUEST_TIMEOUT_MS,
    incidentsTable: e.INCIDENTS_TABLE,
    approvalsTable: e.APPROVALS_TABLE,
  };
}

export function logGroupFor(config: Config, service: string): string {
  return config.serviceLogGroups[service] ?? config.logGroupPattern.replaceAll('{service}', service);
}
