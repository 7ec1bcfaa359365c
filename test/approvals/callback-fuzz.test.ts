import { describe, expect, test } from 'vitest';
import { seededRandom } from '../../sandbox/faults.ts';
import { SLACK_USERS } from '../../sandbox/slack.ts';
import { mutatingCalls } from '../support/p0.ts';
import { withPendingApproval } from './support.ts';

type Request = { headers: Record<string, string>; body: Buffer };
type Mutation = (r: Request, rnd: () => number) => void;

const pick = <T>(items: readonly T[], rnd: () => number): T => items[Math.floor(rnd() * items.length)]!;
const HEX = '0123456789abcdef';

/** Ways to damage a valid signed Slack request: its body, its signature, its timestamp, its content type. */
const MUTATIONS: Record<string, Mutation> = {
  'flip a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * r.body.length);
    r.body[i] = r.body[i]! ^ (1 + Math.floor(rnd() * 255));
  },
  'insert a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * (r.body.length + 1));
    r.body = Buffer.concat([r.body.subarray(0, i), Buffer.from([Math.floor(rnd() * 256)]), r.body.subarray(i)]);
  },
  'delete a body byte': (r, rnd) => {
    const i = Math.floor(rnd() * r.body.length);
    r.body = Buffer.concat([r.body.subarray(0, i), r.body.subarray(i + 1)]);
  },
  'truncate the body': (r, rnd) => {
    r.body = r.body.subarray(0, Math.floor(rnd() * r.body.length));
  },
  'append to the body': (r, rnd) => {
    r.body = Buffer.concat([r.body, Buffer.from(pick(['&payload=x', ' ', '\n', '%00', '&admin=1'], rnd))]);
  },
  'swap approve for reject in the body': (r) => {
    const text = r.body.toString('utf8');
    r.body = Buffer.from(text.includes('approve') ? text.replaceAll('approve', 'reject') : text.replaceAll('reject', 'approve'));
  },
  'change a signature digit': (r, rnd) => {
    const sig = (r.headers['x-slack-signature'] ?? '');
    const i = 3 + Math.floor(rnd() * (sig.length - 3));
    const c = sig[i]!;
    r.headers['x-slack-signature'] = sig.slice(0, i) + pick(HEX.replace(c, '').split(''), rnd) + sig.slice(i + 1);
  },
  'uppercase the signature': (r) => {
    r.headers['x-slack-signature'] = (r.headers['x-slack-signature'] ?? '').replace(/[a-f]/, (c) => c.toUpperCase()).replace('v0=', 'V0=');
  },
  'drop the signature prefix': (r) => {
    r.headers['x-slack-signature'] = (r.headers['x-slack-signature'] ?? '').slice(3);
  },
  'truncate the signature': (r, rnd) => {
    const sig = (r.headers['x-slack-signature'] ?? '');
    r.headers['x-slack-signature'] = sig.slice(0, Math.floor(rnd() * (sig.length - 1)));
  },
  'remove the signature': (r) => {
    delete r.headers['x-slack-signature'];
  },
  'shift the timestamp by a second': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = String(Number(r.headers['x-slack-request-timestamp'] ?? 0) + pick([-1, 1], rnd));
  },
  'make the timestamp stale or future': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = String(Number(r.headers['x-slack-request-timestamp'] ?? 0) + pick([-86_400, -301, 301, 3_600], rnd));
  },
  // (Not whitespace: HTTP trims header values, so a padded header arrives unchanged.)
  'pad the timestamp': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = pick(['0', '00', '+'], rnd) + (r.headers['x-slack-request-timestamp'] ?? '');
  },
  'garble the timestamp': (r, rnd) => {
    r.headers['x-slack-request-timestamp'] = pick(['', 'NaN', '1e9', '-1', '17965261800000000', 'now'], rnd);
  },
  'remove the timestamp': (r) => {
    delete r.headers['x-slack-request-timestamp'];
  },
  'change the content type': (r, rnd) => {
    r.headers['content-type'] = pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedx', 'application/xml'], rnd);
  },
};

const NAMES = Object.keys(MUTATIONS);

describe('Slack callback fuzz', () => {
  test('1,200 mutated versions of a valid signed click: none accepted, nothing decided or sent', async () => {
    await withPendingApproval(async (p) => {
      const rnd = seededRandom(20261128);
      const original = p.click({ action: 'approve', user: SLACK_USERS.onCall });
      const originalKey = keyOf({ headers: original.headers, body: Buffer.from(original.body) });
      const statuses = new Map<number, number>();
      const accepted: string[] = [];
      let sent = 0;
      const queue: Promise<void>[] = [];
      while (sent < 1200) {
        const r: Request = { headers: { ...original.headers }, body: Buffer.from(original.body) };
        const applied = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(NAMES, rnd));
        for (const name of applied) MUTATIONS[name]!(r, rnd);
        if (keyOf(r) === originalKey) continue; // a mutation that changed nothing is not a mutation
        sent += 1;
        queue.push(
          p.post(r).then((res) => {
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status < 400) accepted.push(applied.join(' + '));
          }),
        );
        if (queue.length >= 16) await Promise.all(queue.splice(0));
      }
      await Promise.all(queue);
      expect(accepted).toEqual([]);
      expect([...statuses.keys()].every((s) => [400, 401, 413, 415].includes(s))).toBe(true);
      expect(p.sendTaskCalls()).toEqual([]);
      expect(await p.row()).toMatchObject({ status: 'pending' });
      expect(mutatingCalls(p.sandbox)).toEqual([]);
      // The unmutated request was valid all along: it is accepted, once.
      expect((await p.post(original)).status).toBe(200);
      await p.delivered();
      expect(p.sendTaskCalls()).toEqual(['SendTaskSuccess']);
    });
  });
});

function keyOf(r: Request): string {
  const h = r.headers;
  return [h['content-type'], h['x-slack-request-timestamp'], h['x-slack-signature'], r.body.toString('base64')].join('|');
}
