import { TIER_LABEL, type ApprovalView, type Tier } from './approvals.ts';
import { escapeSlackText as esc, type Block, type SlackMessage } from './slack.ts';

/**
 * The approval request as people see it in Slack (Block Kit): what is about to happen, to which
 * service, why (the evidence gathered so far), who may approve, until when, and what happens if
 * nobody does. The buttons carry the approval id — never the task token.
 *
 * Every piece of text that is not ours (log lines, the alarm's reason, CloudTrail user names,
 * service and cluster names, people's names and reasons) is escaped for mrkdwn (`esc`) before it
 * sits next to our own markup: a log line saying `<!channel>` must not ping the channel, nor
 * `<https://…|Approve here>` show a disguised link in the message people approve from. Header
 * blocks are plain_text, which Slack never parses for mentions or links.
 */

export interface ApprovalEvidence {
  verdict?: string;
  reasons: string[];
  changes?: string;
  errors?: string;
  reason?: string;
}

export interface RequestMessageInput {
  approval: ApprovalView;
  /** Human words for the action, e.g. "force a new deployment of acme-axon". */
  what: string;
  evidence: ApprovalEvidence;
  /** Slack ids allowed to approve this tier (users U…, groups S…). */
  approvers: string[];
  next?: { tier: Tier; timeoutMinutes: number };
  /** The tier that did not answer, when this request is an escalation. */
  escalatedFrom?: { tier: Tier; minutes: number };
}

export function mention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

function clock(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

export function approvalRequestMessage(channel: string, input: RequestMessageInput): SlackMessage {
  const { approval: a, evidence: e } = input;
  const who = input.approvers.length ? input.approvers.map(mention).join(' ') : '_nobody is configured for this tier — use the CLI_';
  const title = `${a.severity} approval needed: ${input.what}`;
  const why = [
    e.reason ? `*Why:* ${esc(e.reason)}` : undefined,
    e.verdict ? `*Assessment:* ${esc(e.verdict)}${e.reasons.length ? ` — ${esc(e.reasons.join('; '))}` : ''}` : undefined,
    e.changes ? `*Recent changes:* ${esc(e.changes)}` : undefined,
    e.errors ? `*Error logs:* ${esc(e.errors)}` : undefined,
  ].filter(Boolean);
  const after = input.next
    ? `If nobody answers by ${clock(a.expiresAt)}, the ${TIER_LABEL[input.next.tier]} is asked.`
    : `If nobody answers by ${clock(a.expiresAt)}, the workflow stops without acting (fails closed) and the incident is escalated.`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    ...(input.escalatedFrom
      ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `:arrow_up: Escalated: the ${TIER_LABEL[input.escalatedFrom.tier]} did not answer within ${input.escalatedFrom.minutes} min.` }] }]
      : []),
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [`*What:* ${esc(input.what)} (\`${esc(a.action)}\` in \`${esc(a.workflow)}\`)`, `*Service:* \`${esc(a.service)}\` in cluster \`${esc(a.cluster)}\``, ...why].join('\n').slice(0, 3000),
      },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Who may approve (${TIER_LABEL[a.tier]} or more senior):* ${who}\n${after}`.slice(0, 3000) },
    },
    {
      type: 'actions',
      block_id: 'approval',
      elements: [
        { type: 'button', action_id: 'approve', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: a.id },
        {
          type: 'button',
          action_id: 'reject',
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: a.id,
          confirm: {
            title: { type: 'plain_text', text: 'Reject?' },
            text: { type: 'plain_text', text: 'Nothing will be done; the incident stays with people.' },
            confirm: { type: 'plain_text', text: 'Reject' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval \`${a.id}\` · Slack down? \`incident-flows approve ${a.id}\` or \`incident-flows reject ${a.id} --reason …\`` }] },
  ];
  // The top-level text is what notifications show, and Slack parses it as mrkdwn too.
  return { channel, text: `${esc(title)} — ${TIER_LABEL[a.tier]}, answer by ${clock(a.expiresAt)}`, blocks };
}

/** The request once decided: buttons gone, who decided and when. */
export function decidedMessage(channel: string, a: ApprovalView, what: string): SlackMessage {
  const icon = a.status === 'approved' ? ':white_check_mark:' : ':no_entry:';
  // A Slack decider is a user id the payload schema checked (U…/W…): safe to mention. A CLI name is not ours.
  const by = a.decidedBy ? (a.decidedBy.via === 'slack' && /^[UW][A-Z0-9]+$/.test(a.decidedBy.id) ? `<@${a.decidedBy.id}>` : `${esc(a.decidedBy.name)} (${a.decidedBy.via === 'cli' ? 'CLI' : 'Slack'})`) : 'someone';
  const text = `${icon} ${a.status === 'approved' ? 'Approved' : 'Rejected'} by ${by} at ${a.decidedAt ? clock(a.decidedAt) : '?'}${a.reason ? `: ${esc(a.reason)}` : ''}`;
  return {
    channel,
    text: `${esc(`${a.severity} ${what}: ${a.status}`)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${esc(a.severity)}: ${esc(what)}* (\`${esc(a.service)}\`)\n${text}`.slice(0, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval \`${a.id}\` · ${TIER_LABEL[a.tier]} tier` }] },
    ],
  };
}

/** The request of a tier that did not answer, once the next tier is asked. */
export function expiredMessage(channel: string, a: ApprovalView, next: Tier): SlackMessage {
  const text = `:hourglass: No answer from the ${TIER_LABEL[a.tier]} by ${clock(a.expiresAt)} — escalated to the ${TIER_LABEL[next]}.`;
  return {
    channel,
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${esc(a.severity)}: ${esc(a.action)} of \`${esc(a.service)}\`*\n${text}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval \`${a.id}\` is closed.` }] },
    ],
  };
}

/** The request whose decision arrived after the workflow had stopped waiting: buttons gone, nothing decided. */
export function lateDecisionMessage(channel: string, a: ApprovalView): SlackMessage {
  const by = a.decidedBy?.via === 'slack' && /^[UW][A-Z0-9]+$/.test(a.decidedBy.id) ? `<@${a.decidedBy.id}>` : esc(a.decidedBy?.name ?? 'someone');
  const text = `:hourglass: ${a.status === 'expired' ? 'Too late' : 'Closed'}: the decision by ${by} reached the workflow after it had stopped waiting for the ${TIER_LABEL[a.tier]} — nothing was decided.`;
  return {
    channel,
    text: `${esc(`${a.severity} ${a.what}`)}: too late, nothing was decided`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${esc(a.severity)}: ${esc(a.what)}* (\`${esc(a.service)}\`)\n${text}`.slice(0, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval \`${a.id}\` is closed.` }] },
    ],
  };
}
