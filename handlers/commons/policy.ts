import * as z from 'zod';
import { TIERS, tierSchema, type Tier } from './approvals.ts';

/**
 * Which risky actions run on their own and which wait for a person — one typed policy for every
 * workflow. The workflows read it when the stack is synthesized, so the state machine itself
 * shows where it can stop for approval.
 *
 * - `automatic`: runs without asking, unless the start input asks for approval
 *   (`requireApproval: true` — set by the alarm trigger once the remediation budget is spent, or
 *   by a person starting the workflow).
 * - `approval`: always waits for a person.
 *
 * When nobody answers, the action fails closed (nothing is done, the incident is escalated)
 * unless the rule says `onNoAnswer: "proceed"`.
 */

export const approvalModeSchema = z.enum(['automatic', 'approval']);
export type ApprovalMode = z.infer<typeof approvalModeSchema>;

export const escalationTierSchema = z
  .object({
    tier: tierSchema,
    /** How long this tier has to answer before the next one is asked. */
    timeoutMinutes: z.number().int().min(1).max(7 * 24 * 60),
  })
  .strict();
export type EscalationTier = z.infer<typeof escalationTierSchema>;

export const actionRuleSchema = z
  .object({
    mode: approvalModeSchema,
    onNoAnswer: z.enum(['fail-closed', 'proceed']).default('fail-closed'),
    /** P0's rollback: automatic only for a change younger than this (minutes); an older one waits for a person. */
    withinMinutes: z.number().int().min(0).max(7 * 24 * 60).optional(),
    /** Overrides the policy's escalation path for this action. */
    escalation: z.array(escalationTierSchema).min(1).optional(),
    /** Why: shown in docs and in the approval request. */
    why: z.string().min(1),
  })
  .strict();
export type ActionRule = z.output<typeof actionRuleSchema>;

export const approvalPolicySchema = z
  .object({
    /** Runbook: on-call 0–15 min → team lead 15–60 min → VP engineering 1–4 h. */
    escalation: z.array(escalationTierSchema).min(1),
    /** workflow → action → rule. */
    workflows: z.record(z.string(), z.record(z.string(), actionRuleSchema)),
  })
  .strict();
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

/** The runbook's escalation path with its own time limits. */
export const RUNBOOK_ESCALATION: EscalationTier[] = [
  { tier: 'on-call', timeoutMinutes: 15 },
  { tier: 'team-lead', timeoutMinutes: 45 },
  { tier: 'vp', timeoutMinutes: 180 },
];

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = {
  escalation: RUNBOOK_ESCALATION,
  workflows: {
    'p0-system-down': {
      restart: {
        mode: 'automatic',
        onNoAnswer: 'fail-closed',
        why: 'the first P0 restart runs on its own; beyond the remediation budget (requireApproval) a person decides',
      },
      rollback: {
        mode: 'automatic',
        onNoAnswer: 'fail-closed',
        withinMinutes: 60,
        why: 'a deployment of the last hour that brought in a failing revision is rolled back on its own; an older one waits for a person, who may restart instead',
      },
    },
    'p1-degraded': {
      'scale-out': {
        mode: 'automatic',
        onNoAnswer: 'fail-closed',
        why: 'a scale-out within the service\'s policy runs on its own; a larger step (approvalAboveStep) or one beyond the remediation budget waits for a person',
      },
    },
    rollback: {
      rollback: { mode: 'approval', onNoAnswer: 'fail-closed', why: 'every rollback changes what runs in production' },
    },
    deploy: {
      'deploy-production': { mode: 'approval', onNoAnswer: 'fail-closed', why: 'every production deploy needs a person' },
      'deploy-staging': { mode: 'automatic', onNoAnswer: 'fail-closed', why: 'staging deploys are routine' },
    },
  },
};

/** An action the policy does not name needs approval and fails closed: the safe default. */
const UNKNOWN_ACTION: ActionRule = { mode: 'approval', onNoAnswer: 'fail-closed', why: 'not named in the approval policy' };

export function ruleFor(policy: ApprovalPolicy, workflow: string, action: string): ActionRule & { escalation: EscalationTier[] } {
  const rule = policy.workflows[workflow]?.[action] ?? UNKNOWN_ACTION;
  return { ...rule, escalation: rule.escalation ?? policy.escalation };
}

/** Validates a policy (e.g. from cdk.json) and checks the escalation climbs the tiers in order. */
export function parseApprovalPolicy(raw: unknown): ApprovalPolicy {
  const policy = approvalPolicySchema.parse(raw);
  const paths = [policy.escalation, ...Object.values(policy.workflows).flatMap((w) => Object.values(w).map((r) => r.escalation ?? []))];
  for (const path of paths) {
    const ranks = path.map((t) => TIERS.indexOf(t.tier as Tier));
    if (ranks.some((r, i) => i > 0 && r <= ranks[i - 1]!)) {
      throw new Error(`approval policy: an escalation path must climb the tiers in order (${TIERS.join(' → ')}), got ${path.map((t) => t.tier).join(' → ')}`);
    }
  }
  return policy;
}

/** Total minutes an escalation may wait: sizes the execution timeout. */
export function escalationMinutes(path: EscalationTier[]): number {
  return path.reduce((sum, t) => sum + t.timeoutMinutes, 0);
}
