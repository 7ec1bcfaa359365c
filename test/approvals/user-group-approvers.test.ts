import { describe, expect, test } from 'vitest';
import { fetchSlackApi } from '#commons/slack';
import { SLACK_APPROVERS, SLACK_GROUPS, SLACK_USERS, slackOf } from '../../sandbox/slack.ts';
import { withSandbox } from '../support/p0.ts';
import { withPendingApproval } from './support.ts';

/**
 * Approvers can be listed as Slack user groups (S…), resolved with usergroups.users.list. Slack's
 * read methods ignore a JSON body — the call arrives without `usergroup` and Slack answers
 * invalid_arguments — so the group has to be asked for form-encoded, or nobody in it can approve.
 */
describe('approvers listed as a Slack user group', () => {
  test('the sandbox Slack answers usergroups.users.list as Slack does: a JSON body is ignored, a form body is read', async () => {
    await withSandbox({}, async (sandbox) => {
      const fake = slackOf(sandbox);
      const api = `${fake.apiUrl}usergroups.users.list`;
      const auth = { authorization: `Bearer ${fake.secrets.botToken.reveal()}` };
      const asJson = await (await fetch(api, { method: 'POST', headers: { ...auth, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ usergroup: 'S0ONCALL' }) })).json();
      expect(asJson).toMatchObject({ ok: false, error: 'invalid_arguments' });
      const asForm = await (await fetch(api, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'usergroup=S0ONCALL' })).json();
      expect(asForm).toEqual({ ok: true, users: SLACK_GROUPS.S0ONCALL });
    });
  });

  test('the callback\'s Slack client gets a group\'s members from Slack as it really answers', async () => {
    await withSandbox({}, async (sandbox) => {
      const fake = slackOf(sandbox);
      const slack = fetchSlackApi({ token: fake.secrets.botToken, apiUrl: fake.apiUrl });
      expect(await slack.groupMembers('S0ONCALL')).toEqual([SLACK_USERS.onCall.id]);
    });
  });

  test('a member of the on-call user group (listed only through the group) approves: recorded and sent to the workflow', async () => {
    expect(SLACK_APPROVERS['on-call']).toEqual(['S0ONCALL']); // on-call is approved through the group only
    await withPendingApproval(async (p) => {
      const answer = await p.post(p.click({ action: 'approve', user: SLACK_USERS.onCall }));
      expect(answer).toMatchObject({ status: 200, body: { code: 'approved' } });
      await p.delivered();
      expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id, via: 'slack' } });
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
      expect(p.fake.ephemeral).toEqual([]);
      expect((await p.finish()).status).toBe('SUCCEEDED');
    });
  });
});
