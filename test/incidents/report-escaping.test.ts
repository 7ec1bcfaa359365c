import { expect, test } from 'vitest';
import { slackReportPoster } from '../../handlers/record-incident.ts';

test('the post-incident report quotes a hostile log line without pinging the channel or showing a disguised link', async () => {
  const posted: { text: string; blocks: { text: { text: string } }[] }[] = [];
  const poster = slackReportPoster({ postMessage: async (m: unknown) => void posted.push(m as never) } as never, 'C-INCIDENTS');
  await poster.post({
    incidentId: 'i-1',
    service: 'acme-axon',
    outcome: 'escalated',
    text: 'acme-axon: ESCALATED after <!here>',
    markdown: '- ×6: `ERROR login failed for <!channel> <https://evil.example|Approve here>` & more',
  });
  const all = JSON.stringify(posted);
  expect(all).not.toMatch(/<!channel>|<!here>|<https:/);
  expect(posted[0]!.blocks[1]!.text.text).toContain('&lt;!channel&gt; &lt;https://evil.example|Approve here&gt;` &amp; more');
  expect(posted[0]!.text).toBe('acme-axon: ESCALATED after &lt;!here&gt;');
});
