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
            name: z.string().min(1),
            /** Defaults to the runbook's /ecs/<service>. */
            logGroup: z.string().min(1).optional(),
          })
          .strict(),
      )
      .min(1)
      .default([{ name: 'acme-axon' }, { name: 'acme-orbit' }]),
    expectedStartSeconds: z.number().int().min(0).max(3600).default(30),
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
