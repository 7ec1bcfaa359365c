import { describe, expect, test } from 'vitest';
import { inspect } from 'node:util';
import { documentClient, sfnClient } from '#commons/clients';
import type { Logger } from '#commons/logger';
import { Secret } from '#commons/slack';
import { slackSignature } from '#commons/slack-request';
import { decideFromCli, SANDBOX_IDENTITY, type CliDecisionDeps } from '../../cli/approve.ts';
import { approvalIdOf, SLACK_USERS } from '../../sandbox/slack.ts';
import { mutatingCalls } from '../support/p0.ts';
import { TABLE, withPendingApproval, type PendingApproval } from './support.ts';

const onCallApproves = { action: 'approve' as const, user: SLACK_USERS.onCall };

/** Whatever was refused, the approval is exactly as it was and nobody told the workflow anything. */
async function expectUntouched(p: PendingApproval): Promise<void> {
  expect(p.sendTaskCalls()).toEqual([]);
  expect(await p.row()).toMatchObject({ status: 'pending' });
  expect((await p.row())?.decidedBy).toBeUndefined();
  expect(mutatingCalls(p.sandbox)).toEqual([]);
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  const copy = { ...headers };
  delete copy[name];
  return copy;
}

describe('Slack callback: hostile input is refused with the right 4xx, a clear message, and no effect', () => {
  test('every forged, stale, malformed or unauthorised request', async () => {
    await withPendingApproval(async (p) => {
      const valid = p.click(onCallApproves);
      const cases: [string, Promise<{ status: number; body: { code?: string; text?: string } }>, number, RegExp][] = [];
      const add = (name: string, request: Parameters<PendingApproval['post']>[0], status: number, message: RegExp) =>
        cases.push([name, p.post(request), status, message]);

      add('missing signature', { headers: withoutHeader(valid.headers, 'x-slack-signature'), body: valid.body }, 401, /missing X-Slack-Signature/);
      add('missing timestamp', { headers: withoutHeader(valid.headers, 'x-slack-request-timestamp'), body: valid.body }, 401, /missing X-Slack-Request-Timestamp/);
      const ts = valid.headers['x-slack-request-timestamp']!;
      add('signed with another secret', { headers: { ...valid.headers, 'x-slack-signature': slackSignature('not-the-signing-secret', ts, valid.body) }, body: valid.body }, 401, /does not match/);
      add('body tampered after signing (reject → approve)', { headers: p.click({ action: 'reject', user: SLACK_USERS.onCall }).headers, body: valid.body }, 401, /does not match/);
      add('signature not v0', { headers: { ...valid.headers, 'x-slack-signature': valid.headers['x-slack-signature']!.replace('v0=', 'v1=') }, body: valid.body }, 401, /does not match/);
      add('stale timestamp (6 min old)', p.click(onCallApproves, -360), 401, /360 s old/);
      add('future timestamp (6 min ahead)', p.click(onCallApproves, 360), 401, /360 s in the future/);
      add('wrong content type', { headers: { ...valid.headers, 'content-type': 'application/json' }, body: valid.body }, 415, /application\/x-www-form-urlencoded/);
      add('no content type', { headers: withoutHeader(valid.headers, 'content-type'), body: Buffer.from(valid.body) }, 415, /content type missing/);
      add('oversized payload', signedRaw(p, `payload=${'x'.repeat(70 * 1024)}`), 413, /over the 65536-byte limit/);
      add('payload not JSON', signedRaw(p, 'payload=%7Bnot-json'), 400, /"payload" is not JSON/);
      add('no payload field', signedRaw(p, 'approve=apr-0'), 400, /exactly one form field "payload"/);
      add('two form fields', signedRaw(p, `${valid.body}&payload=x`), 400, /exactly one form field/);
      add('unhandled interaction type', signedPayload(p, { type: 'view_submission', user: { id: SLACK_USERS.onCall.id } }), 400, /"view_submission" is not handled/);
      add('unknown action', signedPayload(p, { ...clickPayload(p), actions: [{ action_id: 'delete', value: p.approvalId, action_ts: '1.2' }] }), 400, /actions\.0\.action_id/);
      add('button value is not an approval id', signedPayload(p, { ...clickPayload(p), actions: [{ action_id: 'approve', value: 'AQBtoken', action_ts: '1.2' }] }), 400, /actions\.0\.value/);
      add('unknown approval id', p.click({ ...onCallApproves, approvalId: 'apr-00000000000000000000' }), 404, /no approval "apr-00000000000000000000"/);
      add('unauthorised user', p.click({ action: 'approve', user: SLACK_USERS.intruder }), 403, /may not decide P0 restart approvals at the on-call engineer tier/);

      for (const [name, answer, status, message] of cases) {
        const res = await answer;
        expect.soft({ name, status: res.status }).toEqual({ name, status });
        expect.soft(res.body.text ?? '', name).toMatch(message);
      }
      await expectUntouched(p);
      // The unauthorised clicker is told so in Slack, ephemerally; nobody else hears of any of it.
      // Only the requests proven to come from Slack (the unknown id, the unauthorised user) get an answer in Slack, to the clicker alone.
      expect(p.fake.ephemeral.map((e) => e.text).sort()).toEqual([expect.stringMatching(/may not decide/), expect.stringMatching(/^no approval/)]);
      expect(p.fake.messages[0]!.updates).toEqual([]);
    });
  });

  test('a replayed request (same signed bytes again, no Slack retry header) is refused as a replay', async () => {
    await withPendingApproval(async (p) => {
      const intruder = p.click({ action: 'approve', user: SLACK_USERS.intruder });
      expect((await p.post(intruder)).status).toBe(403);
      const replay = await p.post(intruder);
      expect(replay.status).toBe(409);
      expect(replay.body.text).toMatch(/already received: replays are refused/);
      await expectUntouched(p);
    });
  });

  test('replaying the approving click after the fact changes nothing and sends nothing more', async () => {
    await withPendingApproval(async (p) => {
      const click = p.click(onCallApproves);
      expect((await p.post(click)).status).toBe(200);
      const replay = await p.post(click);
      expect(replay.status).toBe(409);
      await p.delivered();
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
      const execution = await p.finish();
      expect(execution.status).toBe('SUCCEEDED');
    });
  });

  test('an expired approval: the late click gets a clear ephemeral answer and decides nothing', async () => {
    await withPendingApproval(async (p) => {
      // The on-call tier times out (15 min); the team lead is asked.
      p.sandbox.clock.leave();
      const teamLeadAsked = new Promise<void>((resolve) => {
        const stop = p.fake.onMessage(() => {
          p.sandbox.clock.enter(); // held again while we click; finish() lets go

          stop();
          resolve();
        });
      });
      await teamLeadAsked;
      const late = await p.post(p.click(onCallApproves));
      expect(late.status).toBe(410);
      expect(late.body.text).toMatch(/expired at .*did not answer in time/);
      expect(p.fake.ephemeral.at(-1)?.text).toMatch(/expired/);
      expect(p.sendTaskCalls()).toEqual([]);
      expect((await p.row())?.status).toBe('expired');
      // On-call may not approve the team lead's request either.
      const teamLeadRequest = p.fake.messages[1]!;
      const wrongTier = await p.post(p.click({ ...onCallApproves, approvalId: approvalIdOf(teamLeadRequest)! }));
      expect(wrongTier.status).toBe(403);
      expect(p.sendTaskCalls()).toEqual([]);
    });
  });
});

describe('Slack callback: exactly once', () => {
  test('Slack delivers the same click three times at once: one SendTaskSuccess, every delivery answered 200', async () => {
    await withPendingApproval(async (p) => {
      const actionTs = '1796526180.123456';
      const deliveries = [
        p.click({ ...onCallApproves, actionTs }),
        p.click({ ...onCallApproves, actionTs }, 1, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
        p.click({ ...onCallApproves, actionTs }, 2, { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' }),
      ];
      const answers = await Promise.all(deliveries.map((d) => p.post(d)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      await p.delivered();
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
      expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.onCall.id, via: 'slack' } });
      // A later redelivery of the same click is still idempotent.
      const again = await p.post(p.click({ ...onCallApproves, actionTs }, 3, { 'x-slack-retry-num': '3' }));
      expect(again).toMatchObject({ status: 200, body: { code: 'already_recorded' } });
      await p.delivered();
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
      expect(p.fake.messages[0]!.updates).toHaveLength(1);
      expect((await p.finish()).status).toBe('SUCCEEDED');
    });
  });

  test('a second person clicking after the decision is told who decided, and nothing more is sent', async () => {
    await withPendingApproval(async (p) => {
      expect((await p.post(p.click(onCallApproves))).status).toBe(200);
      const second = await p.post(p.click({ action: 'reject', user: SLACK_USERS.teamLead }));
      expect(second.status).toBe(409);
      expect(second.body.text).toMatch(/already approved by ona\.oncall \(slack\)/);
      expect(p.fake.ephemeral.at(-1)?.text).toMatch(/already approved/);
      await p.delivered();
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
    });
  });

  test('a more senior tier may decide a junior tier\'s request (team lead approves on-call\'s)', async () => {
    await withPendingApproval(async (p) => {
      expect((await p.post(p.click({ action: 'approve', user: SLACK_USERS.teamLead }))).status).toBe(200);
      expect(await p.row()).toMatchObject({ status: 'approved', decidedBy: { id: SLACK_USERS.teamLead.id } });
    });
  });
});

describe('CLI fallback: the same exactly-once path, recording the AWS identity', () => {
  function cliDeps(p: PendingApproval): CliDecisionDeps {
    return { dynamo: documentClient(p.sandbox.clientOptions()), sfn: sfnClient(p.sandbox.clientOptions()), clock: p.sandbox.clock, table: TABLE, identity: async () => SANDBOX_IDENTITY };
  }

  test('reject from the CLI: recorded with the identity and reason; a later Slack click is refused', async () => {
    await withPendingApproval(async (p) => {
      const result = await decideFromCli(p.approvalId, 'rejected', 'customer traffic is draining anyway', cliDeps(p));
      expect(result.approval).toMatchObject({ status: 'rejected', decidedBy: { id: SANDBOX_IDENTITY.arn, via: 'cli' }, reason: 'customer traffic is draining anyway' });
      expect((await p.post(p.click(onCallApproves))).status).toBe(409);
      await expect(decideFromCli(p.approvalId, 'approved', undefined, cliDeps(p))).rejects.toThrow(/already rejected by sandbox-operator \(cli\)/);
      expect(p.sendTaskCalls()).toEqual(['SendTaskFailure']);
      const execution = await p.finish();
      expect(execution.error).toBe('ApprovalRejected');
      expect(mutatingCalls(p.sandbox)).toEqual([]);
    });
  });

  test('reject without a reason and a malformed id are refused before anything is read', async () => {
    await withPendingApproval(async (p) => {
      await expect(decideFromCli(p.approvalId, 'rejected', '  ', cliDeps(p))).rejects.toThrow(/needs --reason/);
      await expect(decideFromCli('AQBsometoken', 'approved', undefined, cliDeps(p))).rejects.toThrow(/is not an approval id/);
      await expectUntouched(p);
    });
  });
});

describe('secrets are never printed', () => {
  test('a Secret stringifies, serialises and inspects as redacted', () => {
    const s = new Secret('xoxb-very-secret');
    expect(`${s}`).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).not.toContain('very-secret');
    expect(s.reveal()).toBe('xoxb-very-secret');
  });

  test('the callback logs refusals and decisions without the signing secret, the bot token or the task token', async () => {
    await withPendingApproval(async (p) => {
      const lines: string[] = [];
      const capture: Logger = {
        info: (m, d) => lines.push(JSON.stringify({ m, ...d })),
        warn: (m, d) => lines.push(JSON.stringify({ m, ...d })),
        error: (m, d) => lines.push(JSON.stringify({ m, ...d })),
      };
      p.fake.log = capture;
      await p.post(p.click({ action: 'approve', user: SLACK_USERS.intruder }));
      await p.post({ headers: { ...p.click(onCallApproves).headers, 'x-slack-signature': 'v0=00' }, body: 'payload=%7B%7D' });
      await p.post(p.click(onCallApproves));
      const token = (await p.row())!.token;
      expect(lines.length).toBeGreaterThanOrEqual(3);
      const all = lines.join('\n');
      for (const secret of [p.fake.secrets.signingSecret.reveal(), p.fake.secrets.botToken.reveal(), token]) expect(all).not.toContain(secret);
    });
  });
});

// ------------------------------------------------------------------ helpers

function clickPayload(p: PendingApproval): Record<string, unknown> {
  return JSON.parse(new URLSearchParams(p.click(onCallApproves).body).get('payload')!) as Record<string, unknown>;
}

function signedPayload(p: PendingApproval, payload: unknown) {
  return signedRaw(p, new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
}

function signedRaw(p: PendingApproval, body: string) {
  const base = p.click(onCallApproves);
  const ts = base.headers['x-slack-request-timestamp']!;
  return { headers: { ...base.headers, 'x-slack-signature': signatureFor(p, ts, body) }, body };
}

function signatureFor(p: PendingApproval, ts: string, body: string): string {
  return slackSignature(p.fake.secrets.signingSecret.reveal(), ts, body);
}
