import * as z from 'zod';
import { triggerSchema } from '#commons/schemas';

/**
 * Start inputs of the deploy and rollback workflows (workflows/deploy.ts, workflows/rollback.ts),
 * and the deployment plan their steps pass along. Strict: a misspelt field is an error.
 */

const ecsName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, hyphens or underscores');

/**
 * A container image reference as Docker and ECR read it: `[registry[:port]/]repository[:tag][@sha256:digest]`,
 * lowercase repository path components. A tag or a digest is required: an untagged image means
 * ":latest", which is no known revision to roll back to.
 */
const IMAGE_URI =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
export const imageUriSchema = z
  .string()
  .max(1024)
  .regex(IMAGE_URI, 'is not a container image URI')
  .refine((uri) => /@sha256:[a-f0-9]{64}$/.test(uri) || /:[\w][\w.-]{0,127}$/.test(uri.slice(uri.lastIndexOf('/') + 1)), 'has no tag or digest')
  // ":latest" moves under you: what ran before a deploy could not be told from what runs after it.
  .refine((uri) => !/:latest$/.test(uri), 'is tagged "latest", which moves — deploy a version tag or a digest (@sha256:…)')
  .describe('a container image URI with a tag or digest, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-axon:v42"');

/** family:revision, or a task definition ARN. */
export const revisionRefSchema = z
  .string()
  .max(1600)
  .regex(/^(?:arn:aws[\w-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/)?[A-Za-z0-9_-]{1,255}:[1-9]\d{0,8}$/, 'is not a task definition revision')
  .describe('a task definition revision, "family:revision" or its ARN, e.g. "acme-axon:41"');

const httpUrl = z.url({ protocol: /^https?$/ });

/** A GET the verify step makes after the change: a path on the service's configured health URL's origin. */
export const smokeCheckSchema = z
  .object({
    url: httpUrl.describe('an http(s) URL on the service\'s configured health URL\'s origin'),
    expectStatus: z.number().int().min(100).max(599).default(200).describe('the HTTP status the check expects (default 200)'),
    contains: z.string().min(1).max(256).optional().describe('text the answer must contain'),
  })
  .strict();
export type SmokeCheck = z.output<typeof smokeCheckSchema>;

const alarmName = z.string().min(1).max(255);

const common = {
  service: ecsName.describe('name the ECS service, e.g. "service": "acme-axon"'),
  cluster: ecsName.optional().describe('name the ECS cluster, or configure DEFAULT_CLUSTER'),
  reason: z.string().max(1024).optional().describe('why, in a sentence (shown in the approval request and the record)'),
  trigger: triggerSchema.optional().describe('e.g. {"kind": "cli", "by": "github-actions"}'),
  healthUrl: httpUrl.optional().describe('an http(s) URL the verify step GETs, on the configured health URL\'s origin'),
  smokeChecks: z.array(smokeCheckSchema).max(10).default([]).describe('up to 10 checks, e.g. [{"url": "https://alb.example.com/api/v1/status"}]'),
  expectedStartSeconds: z.number().int().min(0).max(3600).optional().describe('seconds a new task needs to start and pass health checks'),
  requireApproval: z.boolean().default(false).describe('true to have a person approve the change first'),
  dryRun: z.boolean().default(false).describe('true to plan and record without changing the service'),
};

export const deployInputSchema = z
  .object({
    ...common,
    image: imageUriSchema.optional(),
    taskDefinition: revisionRefSchema.optional(),
    container: z.string().min(1).max(255).optional().describe('the container that gets the new image (default: the only essential container)'),
    environment: z.enum(['production', 'staging']).default('production').describe('"production" (a person approves, by default) or "staging"'),
    bakeMinutes: z.number().int().min(0).max(180).default(10).describe('minutes the service\'s alarms must stay OK after the deployment (0 to 180)'),
    alarms: z.array(alarmName).min(1).max(50).optional().describe('CloudWatch alarm names to watch while baking (default: the service\'s alarms, named "<service>-…")'),
  })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.image === undefined) === (input.taskDefinition === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'give exactly one of "image" (a new revision is registered from the current one) or "taskDefinition" (an existing revision)' });
    }
    if (input.container !== undefined && input.image === undefined) {
      ctx.addIssue({ code: 'custom', path: ['container'], message: '"container" only goes with "image"' });
    }
  });
export type DeployInput = z.output<typeof deployInputSchema>;

export const rollbackInputSchema = z
  .object({
    ...common,
    mode: z.enum(['quick', 'full']).default('quick').describe('"quick" (the revision before the current deployment) or "full" (restore the pre-deployment backup)'),
    toRevision: revisionRefSchema.optional(),
    deployment: z.string().min(1).max(80).optional().describe('the deploy execution whose backup to restore (default: the latest backup)'),
    /** Set by the deploy workflow for its automatic rollback; honoured only for a nested start. */
    automatic: z.boolean().default(false),
    /** Step Functions puts the parent's execution ARN here for a nested start (associateWithParent). */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().regex(/^arn:aws[\w-]*:states:/).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.mode === 'full' && input.toRevision !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['toRevision'], message: 'a full rollback restores the backup; "toRevision" only goes with "mode": "quick"' });
    }
  });
export type RollbackInput = z.output<typeof rollbackInputSchema>;

/** What a service ran (or is to run): a snapshot's essentials. */
export const revisionStateSchema = z
  .object({
    taskDefinition: z.string().min(1),
    image: z.string().min(1).optional(),
    desiredCount: z.number().int().min(0).optional(),
    deploymentConfiguration: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type RevisionState = z.output<typeof revisionStateSchema>;

/** The plan every later step of deploy and rollback reads. */
export const deploymentPlanSchema = z
  .object({
    kind: z.enum(['deploy', 'rollback']),
    mode: z.enum(['quick', 'full']).optional(),
    service: ecsName,
    cluster: ecsName,
    /** The execution that holds the service's lock (the deploy, for a nested rollback). */
    holder: z.string().min(1),
    from: revisionStateSchema,
    to: revisionStateSchema,
    /** The deploy execution whose backup this is (deploy) or restores (rollback). */
    backup: z.string().min(1).optional(),
    environment: z.enum(['production', 'staging']).optional(),
    needsApproval: z.boolean(),
    /** The deploy registered `to` itself (a rejected deploy deregisters it again). */
    registered: z.boolean().optional(),
    /** A rollback the deploy workflow started after its own failure: the policy's automatic-rollback rule applies. */
    automatic: z.boolean().optional(),
    bakeMinutes: z.number().int().min(0),
    alarms: z.array(alarmName).optional(),
    healthUrl: httpUrl.optional(),
    smokeChecks: z.array(smokeCheckSchema),
    dryRun: z.boolean(),
    /** Why the rollback chose this target, for people. */
    why: z.string().optional(),
  })
  .strict();
export type DeploymentPlan = z.output<typeof deploymentPlanSchema>;
