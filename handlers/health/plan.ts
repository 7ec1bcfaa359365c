import * as z from 'zod';
import { SEVERITIES } from '#commons/alarms';

/**
 * What the daily health check looks at (runbook › Daily Operations › Health Checks and Monitoring
 * Review). The stack writes the configured plan into the workflow's definition (infra/config.ts
 * `healthCheck`, plus the stack's cluster and services); a start may narrow or tighten it, never widen it.
 */

const ecsName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, hyphens or underscores');
/** Lambda function names (GetFunction's FunctionName without an ARN): 1-64 letters, digits, hyphens, underscores. */
const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Lambda function name (1-64 letters, digits, hyphens, underscores)');
/** DynamoDB table names: 3-255 of letters, digits, "_", "-", ".". */
const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 letters, digits, _ - .)');
const namespace = z.string().min(1).max(255).regex(/^[^:]/, 'must not start with ":"');
const dimensions = z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).refine((d) => Object.keys(d).length <= 30, 'at most 30 dimensions (CloudWatch\'s limit)');
const severity = z.enum(SEVERITIES);

export const STATS = ['Average', 'Sum', 'Maximum', 'Minimum', 'SampleCount'] as const;
export const COMPARISONS = ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;

/** The error rate: the sum of `errors` over the sum of `requests` in the window, in percent (runbook: < 1 %). */
export const errorRateSchema = z
  .object({
    label: z.string().min(1).max(80).describe('what people read in the report, e.g. "Axon"'),
    namespace,
    errors: z.string().min(1).max(255).default('ErrorCount'),
    requests: z.string().min(1).max(255).default('RequestCount'),
    dimensions: dimensions.default({}),
    thresholdPercent: z.number().gt(0).max(100).default(1),
    /** The ECS service an incident for this line is opened on; without it the line only notifies. */
    service: ecsName.optional(),
  })
  .strict();

/** Any metric the team wants on the list: failing when `stat` over the window compares to `threshold` as `comparison` says. */
export const metricCheckSchema = z
  .object({
    label: z.string().min(1).max(80),
    namespace,
    metricName: z.string().min(1).max(255),
    dimensions: dimensions.default({}),
    stat: z.enum(STATS).default('Average'),
    threshold: z.number().finite(),
    /** When the value FAILS, as CloudWatch alarms say it: GreaterThanThreshold fails above the threshold. */
    comparison: z.enum(COMPARISONS).default('GreaterThanThreshold'),
    service: ecsName.optional(),
  })
  .strict();

/** Which failing lines open an incident, and of which severity; a kind left out only notifies. */
export const openIncidentsSchema = z
  .object({
    service: severity.optional(),
    cpu: severity.optional(),
    errorRate: severity.optional(),
    metric: severity.optional(),
  })
  .strict();

/** The configurable part (infra/config.ts `healthCheck`, minus the schedule). */
export const healthChecksSchema = z.object({
  functions: z.array(functionName).max(50).default(['acme-governance']),
  tables: z.array(tableName).max(50).default(['acme-governance-policies']),
  lookbackMinutes: z.number().int().min(5).max(1440).default(60),
  cpuThresholdPercent: z.number().gt(0).max(100).default(70),
  errorRates: z.array(errorRateSchema).max(20).default([{ label: 'Axon', namespace: 'acme/Axon', service: 'acme-axon', errors: 'ErrorCount', requests: 'RequestCount', dimensions: {}, thresholdPercent: 1 }]),
  metrics: z.array(metricCheckSchema).max(50).default([]),
  openIncidents: openIncidentsSchema.default({ service: 'P0', cpu: 'P1' }),
});

/** The plan the workflow runs: the configured checks plus the cluster and services they cover. */
export const healthPlanSchema = healthChecksSchema
  .extend({
    cluster: ecsName,
    services: z.array(ecsName).max(100),
  })
  .strict();
export type HealthPlan = z.output<typeof healthPlanSchema>;
export type HealthPlanInput = z.input<typeof healthPlanSchema>;
export type ErrorRateCheck = z.output<typeof errorRateSchema>;
export type MetricCheck = z.output<typeof metricCheckSchema>;

/** What a start may ask: a narrower set of services, a stricter threshold, a different window. */
export const healthCheckInputSchema = z
  .object({
    services: z.array(ecsName).min(1).max(100).optional().describe('a subset of the configured services, e.g. ["acme-axon"]'),
    lookbackMinutes: z.number().int().min(5).max(1440).optional().describe('a whole number of minutes from 5 to 1440'),
    cpuThresholdPercent: z.number().gt(0).max(100).optional().describe('a percentage above 0 and at most 100 (runbook: 70)'),
    errorRateThresholdPercent: z.number().gt(0).max(100).optional().describe('a percentage above 0 and at most 100 (runbook: 1)'),
    openIncidents: z.boolean().default(true).describe('false to report only, opening no incident'),
    reason: z.string().max(1024).optional(),
    trigger: z
      .object({ kind: z.enum(['schedule', 'manual', 'cli']), by: z.string().min(1).max(255).optional() })
      .strict()
      .optional()
      .describe('e.g. {"kind": "manual", "by": "jane"}'),
  })
  .strict();
export type HealthCheckInput = z.output<typeof healthCheckInputSchema>;

/** One line of the report, as health-check.sh prints it: pass or fail, with its figure. */
export interface HealthLine {
  kind: 'service' | 'function' | 'table' | 'cpu' | 'errorRate' | 'metric';
  component: string;
  ok: boolean;
  figure: string;
  /** The ECS service the line is about, when there is one (an incident can be opened on it). */
  service?: string;
  value?: number;
  threshold?: number;
  /** Red because nothing could be measured (no datapoint, CloudWatch could not answer): reported, opens no incident. */
  unmeasured?: true;
}

export const healthLineSchema = z
  .object({
    kind: z.enum(['service', 'function', 'table', 'cpu', 'errorRate', 'metric']),
    component: z.string(),
    ok: z.boolean(),
    figure: z.string(),
    service: z.string().optional(),
    value: z.number().optional(),
    threshold: z.number().optional(),
    unmeasured: z.literal(true).optional(),
  })
  .strict();

/** What each check step returns. */
export interface CheckResult {
  lines: HealthLine[];
  checkedAt: string;
}

/** The step input of every check: the resolved plan. */
export const checkInputSchema = z.object({ plan: healthPlanSchema }).strict();
