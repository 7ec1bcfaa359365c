import * as z from 'zod';

/** ECS names: letters, digits, hyphens and underscores, up to 255 characters. */
const ecsName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, hyphens or underscores');

/** How far back the investigation looks: shared by the start input and every later step's incident. */
const lookbackMinutes = z.number().int().min(5).max(1440);
const LOOKBACK_HINT = 'a whole number of minutes from 5 to 1440';

/** An http(s) URL the verify step GETs; which hosts it may name is checked against the configuration. */
const healthUrl = z.url({ protocol: /^https?$/ });
const HEALTH_URL_HINT = 'an http(s) URL the verify step GETs, e.g. "https://alb.example.com/health"';

/**
 * P1 only (workflows/p1-degraded.ts), optional overrides of the service's scaling policy for one
 * incident. Bounded so a typo cannot ask for 10,000 tasks; the policy's and Application Auto
 * Scaling's maximums still cap whatever is asked.
 */
export const scalingOverrideSchema = z
  .object({
    thresholdPercent: z.number().min(1).max(100).optional().describe('CPU or memory percent above which the service is saturated (runbook: 70)'),
    desiredCount: z.number().int().min(1).max(1000).optional().describe('the desired count to scale out to (runbook: 4)'),
    maxCount: z.number().int().min(1).max(1000).optional().describe('never scale above this many tasks; must not be below the current desired count'),
  })
  .strict();

/** What started the incident: an alarm, a person at the console, or the CLI. */
export const triggerSchema = z
  .object({
    kind: z.enum(['alarm', 'manual', 'cli']).describe('one of alarm, manual, cli'),
    alarmName: z.string().min(1).max(255).optional(),
    by: z.string().min(1).max(255).optional().describe('who started it, e.g. an IAM user or Slack handle'),
  })
  .strict();

/**
 * Start input shared by the incident workflows (P0 today; P1, P2 and the health check reuse it).
 * Strict: a misspelt field is an error, not silently ignored.
 */
export const incidentInputSchema = z
  .object({
    service: ecsName.describe('name the ECS service to act on, e.g. "service": "acme-axon"'),
    cluster: ecsName.optional().describe('name the ECS cluster, e.g. "cluster": "acme-cluster", or configure DEFAULT_CLUSTER'),
    reason: z.string().max(1024).optional().describe('a short human description of why the workflow started'),
    trigger: triggerSchema.optional().describe('e.g. {"kind": "manual", "by": "jane"}'),
    restartMode: z
      .enum(['force-new-deployment', 'scale-to-zero'])
      .optional()
      .describe('use "force-new-deployment" (default, no capacity gap) or "scale-to-zero" (the runbook\'s stop-then-start); default from the service\'s configuration'),
    healthUrl: healthUrl.optional().describe(HEALTH_URL_HINT),
    logGroup: z.string().min(1).max(512).optional().describe('the CloudWatch Logs group, default /ecs/<service>'),
    lookbackMinutes: lookbackMinutes.default(60).describe(LOOKBACK_HINT),
    expectedStartSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .optional()
      .describe('seconds a new task needs to start and pass health checks (sizes the first wait)'),
    dryRun: z.boolean().default(false).describe('true to record planned changes without making them'),
    requireApproval: z
      .boolean()
      .default(false)
      .describe('true to have a person approve the restart first (set by the alarm trigger once the remediation budget is spent)'),
    scaling: scalingOverrideSchema.optional().describe('P1 only: e.g. {"thresholdPercent": 70, "desiredCount": 4, "maxCount": 8}'),
  })
  .strict();

export type IncidentInput = z.input<typeof incidentInputSchema>;

/** The incident as every later step sees it: validated, with the cluster and log group resolved. */
export const incidentSchema = z
  .object({
    service: ecsName,
    cluster: ecsName,
    logGroup: z.string().min(1),
    restartMode: z.enum(['force-new-deployment', 'scale-to-zero']),
    // Bounded like the start input: a step invoked by hand gets no wider (or future) window than a start would.
    lookbackMinutes: lookbackMinutes.describe(LOOKBACK_HINT),
    expectedStartSeconds: z.number().int().min(0),
    dryRun: z.boolean(),
    /** Optional so inputs recorded before approvals existed still parse; resolveIncident always sets it. */
    requireApproval: z.boolean().optional(),
    healthUrl: healthUrl.optional().describe(HEALTH_URL_HINT),
    reason: z.string().optional(),
    trigger: triggerSchema.optional(),
    scaling: scalingOverrideSchema.optional(),
  })
  .strict();

export type Incident = z.infer<typeof incidentSchema>;

export const verdictSchema = z.enum(['healthy', 'degraded', 'down', 'scaled-to-zero']);
export type Verdict = z.infer<typeof verdictSchema>;
