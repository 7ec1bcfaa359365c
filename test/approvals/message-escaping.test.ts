import { describe, expect, test } from 'vitest';
import { documentClient, sfnClient } from '#commons/clients';
import { escapeSlackText } from '#commons/slack';
import { decidedMessage } from '#commons/slack-messages';
import { decideFromCli, SANDBOX_IDENTITY } from '../../cli/approve.ts';
import { SLACK_USERS, slackOf, type RecordedMessage } from '../../sandbox/slack.ts';
import { withSandbox } from '../support/p0.ts';
import { beyondBudget, runP0WithPeople, SERVICE, TABLE, withPendingApproval } from './support.ts';

/**
 * Text that is not ours — a service's ERROR log lines, the alarm's state reason — goes into the
 * message people approve a production restart from. In Slack's mrkdwn `<!channel>` pings the
 * whole channel and `<https://…|label>` shows a link under any label: such text must arrive as
 * text (&, <, > escaped), never as markup.
 */
const HOSTILE_LOG_LINE = 'ERROR login failed for <!channel> <https://evil.example|Approve here>';
const HOSTILE_REASON = 'ALARM: <!here> threshold crossed — <https://evil.example/approve|Approve the restart> & relax';

/** Every piece of mrkdwn Slack would render for a message: its text (notifications) and its blocks. */
function renderedMrkdwn(message: Pick<RecordedMessage, 'text' | 'blocks'>): string[] {
  const texts = [message.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      const n = node as { type?: string; text?: unknown };
      if (n.type === 'mrkdwn' && typeof n.text === 'string') texts.push(n.text);
      Object.values(node).forEach(walk);
    }
  };
  walk(message.blocks);
  return texts;
}

/** What Slack would turn into a mention, a broadcast or a link: `<…>` sequences that are not ours. */
function markupIn(texts: string[]): string[] {
  return texts.flatMap((t) => [...t.matchAll(/<[^>]*>/g)].map((m) => m[0])).filter((m) => !/^<(@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+)>$/.test(m));
}

describe('Slack message injection: text that is not ours is shown, never rendered', () => {
  test('an ERROR log line with <!channel> and a disguised link, and an alarm reason with <!here>: the approval request shows them as text', async () => {
    await withSandbox({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }, async (sandbox) => {
      // The service's own log, in the window review-logs reads: the hostile line is the most frequent one.
      const now = sandbox.clock.nowMs();
      for (let i = 0; i < 40; i++) sandbox.logs.write(`/ecs/${SERVICE}`, 'ecs/app/hostile', now - 60_000 + i * 1000, HOSTILE_LOG_LINE);
      sandbox.playOut();
      const { run, messages } = await runP0WithPeople(sandbox, beyondBudget({ reason: HOSTILE_REASON }), (i) =>
        i === 0 ? { action: 'approve', user: SLACK_USERS.onCall } : undefined,
      );
      expect(run.status).toBe('SUCCEEDED');
      const request = messages[0]!;
      const shown = renderedMrkdwn(request);
      // The evidence is there, as text…
      expect(shown.join('\n')).toContain(escapeSlackText(HOSTILE_LOG_LINE));
      expect(shown.join('\n')).toContain('ERROR login failed for &lt;!channel&gt; &lt;https://evil.example|Approve here&gt;');
      expect(shown.join('\n')).toContain(escapeSlackText(HOSTILE_REASON));
      // …and nothing in it pings anyone or links anywhere: the only markup left is our own approver mentions.
      expect(markupIn(shown)).toEqual([]);
      expect(shown.join('\n')).not.toContain('<!channel>');
      expect(shown.join('\n')).not.toContain('<https://evil.example');
      expect(shown.join('\n')).toContain('<!subteam^S0ONCALL>');
      // The message as updated after the decision too.
      const decided = request.updates.at(-1)!;
      expect(markupIn(renderedMrkdwn(decided))).toEqual([]);
      expect(slackOf(sandbox).currentText(request)).toMatch(/approved/);
    });
  });

  test('a CLI rejection reason and decider name are escaped in the message that replaces the request', async () => {
    await withPendingApproval(async (p) => {
      const reason = 'see <!channel> and <https://evil.example|the runbook> & <@U0VPENG>';
      const deps = { dynamo: documentClient(p.sandbox.clientOptions()), sfn: sfnClient(p.sandbox.clientOptions()), clock: p.sandbox.clock, table: TABLE, identity: async () => SANDBOX_IDENTITY };
      const { approval } = await decideFromCli(p.approvalId, 'rejected', reason, deps);
      const replaced = decidedMessage('C0INCIDENTS', { ...approval, decidedBy: { id: 'arn:aws:iam::1:user/<!here>', name: '<!here>', via: 'cli' } }, approval.what);
      const shown = renderedMrkdwn(replaced);
      expect(markupIn(shown)).toEqual([]);
      expect(shown.join('\n')).toContain(escapeSlackText(reason));
      expect(shown.join('\n')).toContain('&lt;!here&gt; (CLI)');
    });
  });

  test('the escaping is Slack\'s: &, <, > and nothing else', () => {
    expect(escapeSlackText(HOSTILE_LOG_LINE)).toBe('ERROR login failed for &lt;!channel&gt; &lt;https://evil.example|Approve here&gt;');
    expect(escapeSlackText('a & b <c> "d" \'e\' *f* _g_')).toBe('a &amp; b &lt;c&gt; "d" \'e\' *f* _g_');
  });
});
