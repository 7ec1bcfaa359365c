/**
 * Entry point: the P0 state machine's start input, as the Step Functions console, the CLI or any
 * SDK sends it (StartExecution). A hostile input must be refused by StartExecution with a named
 * error, or fail the execution at its first state ("Assess impact") with a named error whose
 * message names the field — and touch nothing (acme-axon crash-loops: an input taken as valid
 * would restart it).
 */
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { eventBridgeOf } from '../../sandbox/eventbridge.ts';
import { Sandbox } from '../../sandbox/index.ts';
import { parseScenario } from '../../sandbox/scenario.ts';
import { clockMoves, fromError, hasStackTrace, isNamed, MAX_CLEAR_MESSAGE, MutationProbe, outcome, TimeoutError, within, type EntryReport, type Outcome, type Verdict } from './harness.ts';

const ENTRY = 'console start input' as const;
const SERVICE = 'acme-axon';

export interface StartCase {
  name: string;
  /** The input as JSON text (what the console's text box holds). */
  input: () => string;
  /** An execution name other than the generated one. */
  executionName?: string;
}

const j = (v: unknown) => JSON.stringify(v);
const svc = (extra: Record<string, unknown>) => j({ service: SERVICE, ...extra });
const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

export const START_CASES: StartCase[] = [
  // not an object
  { name: 'an empty object', input: () => '{}' },
  { name: 'an array', input: () => j([SERVICE]) },
  { name: 'a string', input: () => j(SERVICE) },
  { name: 'a JSON string holding the object', input: () => j(svc({})) },
  { name: 'a number', input: () => '42' },
  { name: 'null', input: () => 'null' },
  { name: 'true', input: () => 'true' },
  { name: 'an empty input', input: () => '' },
  { name: 'not JSON', input: () => 'service=acme-axon' },
  { name: 'JSON with a trailing comma', input: () => '{"service": "acme-axon",}' },
  { name: 'JSON with a comment', input: () => '{"service": "acme-axon" /* the axon */}' },
  { name: 'NaN as a value', input: () => '{"service": "acme-axon", "lookbackMinutes": NaN}' },
  // service
  { name: 'no service', input: () => j({ cluster: 'acme-cluster' }) },
  { name: 'service empty', input: () => j({ service: '' }) },
  { name: 'service a space', input: () => j({ service: ' ' }) },
  { name: 'service not managed', input: () => j({ service: 'acme-nope' }) },
  { name: 'service in upper case', input: () => j({ service: 'ACME-AXON' }) },
  { name: 'service with path traversal', input: () => j({ service: '../acme-axon' }) },
  { name: 'service a wildcard', input: () => j({ service: '*' }) },
  { name: 'service with a space', input: () => j({ service: 'acme axon' }) },
  { name: 'service with a NUL byte', input: () => j({ service: 'acme-axon\u0000' }) },
  { name: 'service with a Unicode hyphen', input: () => j({ service: 'acme\u2010axon' }) },
  { name: 'service with a right-to-left override', input: () => j({ service: 'acme-\u202Enoxa' }) },
  { name: 'service of 256 characters', input: () => j({ service: 'a'.repeat(256) }) },
  { name: 'service of 100 KB', input: () => j({ service: 'a'.repeat(100 * 1024) }) },
  { name: 'service a number', input: () => j({ service: 123 }) },
  { name: 'service null', input: () => j({ service: null }) },
  { name: 'service an array', input: () => j({ service: [SERVICE] }) },
  { name: 'service an object', input: () => j({ service: { name: SERVICE } }) },
  { name: 'service __proto__', input: () => j({ service: '__proto__' }) },
  { name: 'service constructor', input: () => j({ service: 'constructor' }) },
  // cluster
  { name: 'cluster unknown', input: () => svc({ cluster: 'nope-cluster' }) },
  { name: 'cluster with path traversal', input: () => svc({ cluster: '../acme-cluster' }) },
  { name: 'cluster empty', input: () => svc({ cluster: '' }) },
  { name: 'cluster an ARN of another account', input: () => svc({ cluster: 'arn:aws:ecs:us-east-1:999999999999:cluster/acme-cluster' }) },
  // restart mode, flags
  { name: 'restartMode unknown', input: () => svc({ restartMode: 'kill-all' }) },
  { name: 'restartMode in upper case', input: () => svc({ restartMode: 'SCALE-TO-ZERO' }) },
  { name: 'dryRun a string', input: () => svc({ dryRun: 'true' }) },
  { name: 'dryRun a number', input: () => svc({ dryRun: 1 }) },
  { name: 'requireApproval a string', input: () => svc({ requireApproval: 'no' }) },
  // health URL
  { name: 'healthUrl a file URL', input: () => svc({ healthUrl: 'file:///etc/passwd' }) },
  { name: 'healthUrl javascript:', input: () => svc({ healthUrl: 'javascript:alert(1)' }) },
  { name: 'healthUrl the instance metadata service', input: () => svc({ healthUrl: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' }) },
  { name: 'healthUrl an internal host', input: () => svc({ healthUrl: 'http://127.0.0.1:22/' }) },
  { name: 'healthUrl another origin', input: () => svc({ healthUrl: 'https://evil.example/health' }) },
  { name: 'healthUrl not a URL', input: () => svc({ healthUrl: 'not a url' }) },
  // numbers
  { name: 'lookbackMinutes negative', input: () => svc({ lookbackMinutes: -1 }) },
  { name: 'lookbackMinutes below 5', input: () => svc({ lookbackMinutes: 4 }) },
  { name: 'lookbackMinutes above a day', input: () => svc({ lookbackMinutes: 1441 }) },
  { name: 'lookbackMinutes 1e308', input: () => '{"service": "acme-axon", "lookbackMinutes": 1e308}' },
  { name: 'lookbackMinutes 1e400 (Infinity)', input: () => '{"service": "acme-axon", "lookbackMinutes": 1e400}' },
  { name: 'lookbackMinutes a fraction', input: () => svc({ lookbackMinutes: 5.5 }) },
  { name: 'lookbackMinutes a string', input: () => svc({ lookbackMinutes: 'sixty' }) },
  { name: 'expectedStartSeconds negative', input: () => svc({ expectedStartSeconds: -5 }) },
  { name: 'expectedStartSeconds a billion', input: () => svc({ expectedStartSeconds: 1e9 }) },
  // other fields
  { name: 'reason over 1024 characters', input: () => svc({ reason: 'r'.repeat(1025) }) },
  { name: 'logGroup empty', input: () => svc({ logGroup: '' }) },
  { name: 'logGroup of 600 characters', input: () => svc({ logGroup: `/ecs/${'x'.repeat(600)}` }) },
  { name: 'trigger kind unknown', input: () => svc({ trigger: { kind: 'god' } }) },
  { name: 'trigger a string', input: () => svc({ trigger: 'alarm' }) },
  { name: 'trigger with an extra field', input: () => svc({ trigger: { kind: 'manual', by: 'jane', admin: true } }) },
  { name: 'trigger by empty', input: () => svc({ trigger: { kind: 'manual', by: '' } }) },
  { name: 'unknown fields', input: () => svc({ priority: 'P0', force: true }) },
  { name: 'an unknown field with a 200 KB name', input: () => j({ service: SERVICE, ['k'.repeat(200_000)]: 1 }) },
  { name: 'an unknown field named with control characters and Slack markup', input: () => j({ service: SERVICE, '<!channel>\n\u001b[31m': 1 }) },
  { name: '1,000 unknown fields', input: () => j(Object.fromEntries([['service', SERVICE], ...Array.from({ length: 1000 }, (_, i) => [`field${i}`, i])])) },
  { name: '__proto__ carrying dryRun', input: () => '{"service": "acme-axon", "__proto__": {"dryRun": true}}' },
  { name: 'constructor key', input: () => '{"service": "acme-axon", "constructor": {"prototype": {"dryRun": true}}}' },
  { name: 'duplicate keys (second one unmanaged)', input: () => '{"service": "acme-axon", "service": "acme-nope"}' },
  // size and depth
  { name: 'a 300 KB input', input: () => svc({ reason: 'x'.repeat(300 * 1024) }) },
  { name: 'a 1 MB input', input: () => svc({ reason: 'x'.repeat(1024 * 1024) }) },
  { name: 'JSON nested 40,000 deep', input: () => deepArray(40_000) },
  { name: 'objects nested 5,000 deep', input: () => deepObject(5_000) },
  { name: 'an array nested 3,000 deep in a field', input: () => `{"service": "acme-axon", "reason": ${deepArray(3_000)}}` },
  { name: 'an array nested 150 deep in a field', input: () => `{"service": "acme-axon", "reason": ${deepArray(150)}}` },
  // hostile execution names with an otherwise harmless input
  { name: 'execution name with path traversal', executionName: '../x', input: () => svc({ dryRun: true }) },
  { name: 'execution name with a space', executionName: 'a b', input: () => svc({ dryRun: true }) },
  { name: 'execution name of 81 characters', executionName: 'x'.repeat(81), input: () => svc({ dryRun: true }) },
  { name: 'execution name of 100 KB', executionName: 'n'.repeat(100_000), input: () => svc({ dryRun: true }) },
  { name: 'execution name with a control character', executionName: 'run\u0007bell', input: () => svc({ dryRun: true }) },
];

/** Names of the first states entered, from the execution's history. */
async function statesEntered(sfn: SFNClient, executionArn: string): Promise<string[]> {
  const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return (h.events ?? []).filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name ?? '?');
}

function errorMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

export async function runStartInputs(opts: { cases?: StartCase[] } = {}): Promise<EntryReport> {
  const cases = opts.cases ?? START_CASES;
  const wall = performance.now();
  const sandbox = await Sandbox.start(parseScenario({ faults: [{ service: SERVICE, kind: 'crash-loop' }] }));
  const outcomes: Outcome[] = [];
  try {
    sandbox.playOut();
    const eventBridge = eventBridgeOf(sandbox);
    const sfn = new SFNClient({ ...sandbox.clientOptions(), maxAttempts: 1 });
    const stateMachineArn = sandbox.stateMachineArn('p0-system-down');
    const probe = new MutationProbe(sandbox);
    for (const c of cases) {
      const before = await probe.snapshot();
      const started = performance.now();
      let v: { verdict: Verdict; name?: string; detail: string };
      try {
        v = await within(
          (async () => {
            let executionArn: string;
            try {
              const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: c.input(), ...(c.executionName !== undefined ? { name: c.executionName } : {}) }));
              executionArn = out.executionArn!;
            } catch (err) {
              return fromError(err); // refused at the door: StartExecution's own named error
            }
            await sandbox.sfn.wait(executionArn);
            const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
            const path = await statesEntered(sfn, executionArn);
            const message = errorMessage(d.cause);
            if (d.status === 'SUCCEEDED') return { verdict: 'accepted' as const, name: 'SUCCEEDED', detail: `the execution succeeded (${JSON.parse(d.output ?? '{}').outcome ?? '?'}) through ${path.join(' → ')}` };
            if (hasStackTrace(message)) return { verdict: 'stack-trace' as const, name: d.error ?? '', detail: message };
            if (message.length > MAX_CLEAR_MESSAGE) return { verdict: 'unnamed-error' as const, name: d.error ?? '', detail: `a cause of ${message.length} characters: ${message}` };
            if (!isNamed(d.error) || !message) return { verdict: 'unnamed-error' as const, name: d.error ?? '(none)', detail: message || '(no cause)' };
            if (path.length !== 1 || path[0] !== 'Assess impact') return { verdict: 'accepted' as const, name: d.error ?? '', detail: `failed ${d.error} only after ${path.join(' → ')}: ${message}` };
            return { verdict: 'named-error' as const, name: d.error!, detail: message };
          })(),
          15_000,
        );
      } catch (err) {
        v = err instanceof TimeoutError ? { verdict: 'hang', name: 'timeout', detail: 'the execution was still RUNNING after 15 s of real time' } : fromError(err);
      }
      const ms = performance.now() - started;
      // The end of every execution reaches record-incident (the incident record and report).
      await eventBridge.settled();
      const { mutations, records } = probe.diff(before, await probe.snapshot(), (op) => op === 'StartExecution');
      outcomes.push(outcome(ENTRY, c.name, v, mutations, records, ms));
    }
    if (!(await clockMoves(sandbox))) outcomes.push(outcome(ENTRY, 'afterwards: the virtual clock still moves', { verdict: 'hang', name: 'clock', detail: 'the clock no longer moves' }, [], [], 0));
  } finally {
    await sandbox.stop();
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall };
}
