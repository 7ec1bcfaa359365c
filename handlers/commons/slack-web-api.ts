import { LogLevel, WebClient, type Block as SlackBlock, type KnownBlock } from '@slack/web-api';
import { fetchSlackApi, SlackApiError, type Secret, type SlackApi, type SlackMessage } from './slack.ts';

/**
 * The approval request is posted with Slack's own client (@slack/web-api: rate-limit handling and
 * retries included). Only request-approval uses it: it is ~340 KB minified and adds ~80 ms to a
 * cold start, which the Slack callback cannot afford (docs/decisions/0005-slack-approvals.md).
 */
export function webApiSlack(options: { token: Secret; apiUrl: string; timeoutMs?: number }): SlackApi {
  const client = new WebClient(options.token.reveal(), {
    slackApiUrl: options.apiUrl,
    logLevel: LogLevel.ERROR,
    timeout: options.timeoutMs ?? 5000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    // A method name is never an absolute URL: the token only ever goes to the configured API.
    allowAbsoluteUrls: false,
  });
  const lean = fetchSlackApi(options);
  const blocks = (m: SlackMessage) => m.blocks as unknown as (KnownBlock | SlackBlock)[];
  const wrap = async <T>(method: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      const data = (err as { data?: { error?: string } }).data;
      throw new SlackApiError(method, data?.error ?? (err as Error).message);
    }
  };
  return {
    postMessage: (m) =>
      wrap('chat.postMessage', async () => {
        const out = await client.chat.postMessage({ channel: m.channel, text: m.text, blocks: blocks(m) });
        return { channel: String(out.channel), ts: String(out.ts) };
      }),
    update: (m) =>
      wrap('chat.update', async () => {
        await client.chat.update({ channel: m.channel, ts: m.ts, text: m.text, blocks: blocks(m) });
      }),
    groupMembers: (group) =>
      wrap('usergroups.users.list', async () => (await client.usergroups.users.list({ usergroup: group })).users ?? []),
    respond: lean.respond,
  };
}
