import * as z from 'zod';
import { scalingPolicySchema } from '../handlers/commons/config.ts';
import { healthChecksSchema } from '../handlers/health/plan.ts';
import { maintenanceWindowSchema } from '../handlers/maintenance/window.ts';

/**
 * What a team configures for its account: which cluster and services incident-flows may act on.
 * Set it in cdk.json under context.incidentFlows, or with `-c incidentFlows='{"cluster": ...}'`.
 */
export const stackConfigSchema = z
  .object({
    /** Prefix of every named resource (state machines, functions). */
    prefix: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/).default('incident-flows'),
    cluster: z.string().min(1).default('acme-cluster'),
    services: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be an ECS service name (letters, digits, hyphens, underscores)'),
            /** Defaults to the runbook's /ecs/<service>. */
            logGroup: z.string().min(1).optional(),
            /** Verify GETs it after a restart; every start (alarm, console, CLI) gets it. */
            healthUrl: z.url({ protocol: /^https?$/ }).optional(),
            /** How P0 restarts this service: a forced deployment (default) or the runbook's scale to zero. */
            restartMode: z.enum(['force-new-deployment', 'scale-to-zero']).optional(),
            /** Seconds a new task of this service needs to start and pass its health checks: sizes its waits. */
            expectedStartSeconds: z.number().int().min(0).max(3600).optional(),
            /** P1's scale-out and scale-back for this service (handlers/commons/config.ts: defaults from the runbook). */
            scaling: scalingPolicySchema.optional(),
          })
          .strict(),
      )
      .min(1)
      .default([{ name: 'acme-axon' }, { name: 'acme-orbit' }]),
    expectedStartSeconds: z.number().int().min(0).max(3600).default(30),
    /** Who is paged when people must take over (the SNS topic is created either way). */
    paging: z
      .object({
        emails: z.array(z.email()).default([]),
        /** HTTPS endpoints, e.g. PagerDuty's or Opsgenie's SNS integration URL. */
        httpsUrls: z.array(z.url({ protocol: /^https$/ })).default([]),
      })
      .strict()
      .prefault({}),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** When P2's scheduled fixes are made: default Sunday 02:00 UTC for 2 h (docs/workflows/p2-minor.md). */
    maintenanceWindow: maintenanceWindowSchema.prefault({}),
    /**
     * The daily health check (docs/workflows/health-check.md): what it checks besides the services
     * above (functions, tables, error rates, metrics, thresholds), when it runs, and which failing
     * lines open an incident at which severity. Defaults: the runbook's acme-governance function and
     * acme-governance-policies table, CPU < 70 %, acme/Axon error rate < 1 %, every day at 07:00 UTC.
     */
    healthCheck: healthChecksSchema
      .extend({
        /** EventBridge Scheduler expression, evaluated in `scheduleTimezone`. */
        schedule: z
          .string()
          .regex(/^(cron|rate)\(.+\)$/, 'must be an EventBridge Scheduler expression, e.g. "cron(0 7 * * ? *)"')
          .default('cron(0 7 * * ? *)'),
        scheduleTimezone: z.string().min(1).default('UTC'),
        /** false: no schedule (the workflow is still deployed and startable on demand). */
        scheduled: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type StackConfig = z.output<typeof stackConfigSchema>;

export function parseStackConfig(raw: unknown): StackConfig {
  const parsed = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  const result = stackConfigSchema.safeParse(parsed ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`context incidentFlows.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export function logGroupOf(service: StackConfig['services'][number]): string {
  return service.logGroup ?? `/ecs/${service.name}`;
}

/** The per-service settings handlers read (SERVICE_SETTINGS): what a start input does not say. */
export function serviceSettingsOf(config: StackConfig): Record<string, Omit<StackConfig['services'][number], 'name'>> {
  return Object.fromEntries(config.services.map(({ name, ...settings }) => [name, settings]));
}
