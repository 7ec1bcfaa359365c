import * as z from 'zod';

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
