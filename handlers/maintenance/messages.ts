import { escapeSlackText as esc, type Block, type SlackMessage } from '#commons/slack';
import type { PatternGroup } from '../logs/patterns.ts';

/**
 * The P2 summary as people read it in Slack. Log lines are not ours: every pattern and sample is
 * escaped for mrkdwn (handlers/commons/slack.ts), so a WARN line saying `<!channel>` pings nobody
 * and `<https://…|click>` shows as text. Header blocks are plain_text, which Slack never parses.
 */
export interface WarningSummaryMessage {
  service: string;
  cluster: string;
  logGroup: string;
  count: number;
  truncated: boolean;
  patterns: number;
  groups: PatternGroup[];
  windowStart: string;
  windowEnd: string;
  window: { label: string };
  incidentId: string;
}

const hhmm = (iso: string) => iso.slice(11, 16);

export function warningSummaryMessage(channel: string, m: WarningSummaryMessage): SlackMessage {
  const title = `P2 ${m.service}: ${m.count}${m.truncated ? '+' : ''} WARN line(s), fix scheduled for ${m.window.label}`;
  const rows = m.groups.map((g) => `• ×${g.count} \`${esc(g.pattern)}\` (${hhmm(g.firstAt)}–${hhmm(g.lastAt)} UTC)\n    e.g. ${esc(g.sample.slice(0, 200))}`);
  const more = m.patterns > m.groups.length ? `\n…and ${m.patterns - m.groups.length} more pattern(s)` : '';
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Service:* \`${esc(m.service)}\` in cluster \`${esc(m.cluster)}\` — nothing was changed\n*Log group:* \`${esc(m.logGroup)}\`, ${hhmm(m.windowStart)}–${hhmm(m.windowEnd)} UTC`.slice(0, 3000),
      },
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*WARN patterns, most frequent first:*\n${rows.join('\n')}${more}`.slice(0, 3000) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Scheduled fix recorded on incident \`${esc(m.incidentId)}\` for the maintenance window ${esc(m.window.label)}.` }] },
  ];
  return { channel, text: esc(title), blocks };
}
