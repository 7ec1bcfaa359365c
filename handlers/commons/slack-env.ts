import { getSecretString } from './clients.ts';
import { fetchSlackApi, loadSlackSecrets, onceAsync, type SlackApi } from './slack.ts';

/**
 * Slack for the handlers that only post (record-incident's report, schedule-fix's P2 summary,
 * report-health's report): the approvals' bot and secret (SLACK_SECRET_ARN, SLACK_CHANNEL), through
 * the lean fetch client, since chat.postMessage is all they need. Kept apart from ./slack.ts, which
 * stays dependency-free for the callback's cold start. Built on first use, once per container; a
 * failure to build it is not kept, so the next post tries again.
 */
export function slackFromEnv(env: NodeJS.ProcessEnv = process.env): { slack: () => Promise<SlackApi>; channel: string } {
  return {
    slack: onceAsync(async () => {
      const secrets = await loadSlackSecrets(env, (id) => getSecretString(id));
      return fetchSlackApi({ token: secrets.botToken, apiUrl: env.SLACK_API_URL ?? 'https://slack.com/api/', timeoutMs: 5000 });
    }),
    channel: env.SLACK_CHANNEL ?? '#incidents',
  };
}
