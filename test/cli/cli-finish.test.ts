import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { approveCommand } from '../../cli/approve.ts';
import { alarmCommand } from '../../cli/alarm.ts';
import { COMMAND_HELP, isEntryPoint, main } from '../../cli/main.ts';
import { startCommand } from '../../cli/start.ts';
import { isEntryPoint as isSynthEntryPoint } from '../../infra/app.ts';
import { withPendingApproval, TABLE } from '../approvals/support.ts';
import { executions, withIncidents } from '../incidents/support.ts';
import { cli } from '../support/cli.ts';
import { withSandbox } from '../support/p0.ts';

/**
 * "A CLI that feels finished": every command explains itself, says its version, refuses a typo in
 * a number or a choice, answers in JSON when asked, follows a --wait out loud with exit codes that
 * tell a failure from a timeout, does not call a start "started" when its first state refused it,
 * and runs from a folder whose path has a space.
 */

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DEAD = ['--endpoint', 'http://127.0.0.1:9'];
const COMMANDS = ['drill', 'start', 'status', 'list', 'alarm', 'approve', 'reject', 'sandbox', 'deploy', 'rollback'];

/** Runs cli/main.ts's main() in this process: its exit code and what it wrote. */
async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const capture = () => {
  let text = '';
  return { out: (t: string) => void (text += t), text: () => text };
};

describe('every command explains itself: `<command> --help`, `-h` and `help <command>` print its usage, options and exit codes, exit 0', () => {
  test.each(COMMANDS)('%s --help / -h / help %s', async (command) => {
    const long = await run(command, '--help');
    expect(long.code).toBe(0);
    expect(long.stderr).toBe('');
    expect(long.stdout).toMatch(new RegExp(`^Usage: incident-flows ${command}\\b`));
    expect(long.stdout).toMatch(/\nOptions:\n/);
    expect(long.stdout).toMatch(/\nExit codes:[\s\S]*\b0 /);
    expect(long.stdout).toMatch(/\b2 {2}bad usage/);
    // Its own text, not the whole overview.
    expect(long.stdout).not.toMatch(/incident-flows drill storm \[--services 10\]/);
    expect(long.stdout).toBe(COMMAND_HELP[command]);
    expect((await run(command, '-h')).stdout).toBe(long.stdout);
    expect((await run('help', command)).stdout).toBe(long.stdout);
    // Asked after other arguments too (`start p0 --service x --help`).
    expect((await run(command, 'p0', '--help')).stdout).toBe(long.stdout);
  });

  test('the commands that wait say what 3 means; start, deploy and rollback list --wait-minutes', () => {
    for (const command of ['start', 'deploy', 'rollback']) {
      expect(COMMAND_HELP[command]).toMatch(/3 {2}--wait gave up while the execution still runs/);
      expect(COMMAND_HELP[command]).toMatch(/--wait-minutes N/);
    }
    expect(COMMAND_HELP.list).toMatch(/--limit N\s+a whole number from 1 to 1000/);
    expect(COMMAND_HELP.list).toMatch(/RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE/);
    expect(COMMAND_HELP.alarm).toMatch(/ALARM \(default\), OK or INSUFFICIENT_DATA/);
    expect(COMMAND_HELP.start).toMatch(/start health-check \[--service NAME\]/);
  });

  test('the binary: `start --help` is the start help, `help` and no arguments the overview, `help <unknown>` exits 2', () => {
    const start = cli('start', '--help');
    expect(start.code).toBe(0);
    expect(start.stdout).toBe(COMMAND_HELP.start);
    const overview = cli('help');
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/^incident-flows — the runbook's incident procedures/);
    expect(overview.stdout).toMatch(/incident-flows <command> --help/);
    expect(overview.stdout).not.toMatch(/not deployed yet/);
    const bare = cli();
    expect(bare.code).toBe(0);
    expect(bare.stdout).toBe(overview.stdout);
    const unknown = cli('help', 'bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^incident-flows help: no command "bogus" — one of drill, start, status/);
  });
});

describe('the CLI says its version', () => {
  test('`--version`, `-v` and `version` print the package.json version, exit 0', async () => {
    const r = cli('--version');
    expect(r).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
    for (const flag of ['-v', 'version']) expect(await run(flag)).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
  });
});

describe('a typo in a number or a choice is refused with one line naming the flag and the fix, exit 2, before any AWS call', () => {
  test('the binary: `list --limit abc` no longer prints "no executions"', () => {
    const r = cli('list', '--limit', 'abc', ...DEAD);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('incident-flows list: --limit "abc": use a whole number from 1 to 1000, e.g. --limit 50\n');
  });

  const cases: [string[], RegExp][] = [
    [['list', '--limit', '0'], /^incident-flows list: --limit "0": use a whole number from 1 to 1000/],
    [['list', '--limit', '1.5'], /--limit "1\.5": use a whole number/],
    [['list', '--limit', '1e3'], /--limit "1e3": use a whole number/],
    [['list', '--limit', '1001'], /--limit "1001"/],
    [['list', '--limit='], /--limit "": use a whole number/],
    [['list', '--status', 'DONE'], /^incident-flows list: --status "DONE": use one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE/],
    [['alarm', 'acme-axon-unhealthy-hosts', '--state', 'red'], /^incident-flows alarm: --state "red": use one of ALARM, OK, INSUFFICIENT_DATA/],
    [['start', 'p0', '--service', 'acme-axon', '--restart-mode', 'kill'], /^incident-flows start: --restart-mode "kill": use force-new-deployment or scale-to-zero/],
    [['start', 'p0', '--service', 'acme-axon', '--wait', '--wait-minutes', 'abc'], /^incident-flows start: --wait-minutes "abc" must be a number of minutes above 0 and at most 1440/],
    [['start', 'p0', '--service', 'acme-axon', '--wait', '--wait-minutes', '0'], /--wait-minutes "0" must be/],
    [['start', 'p0', '--service', 'acme-axon', '--wait', '--wait-minutes', '2000'], /--wait-minutes "2000" must be/],
    [['start', 'p0', '--service', 'acme-axon', '--wait-minutes', '5'], /--wait-minutes goes with --wait/],
    [['start', 'p9', '--service', 'acme-axon'], /^incident-flows start: unknown workflow "p9": use one of p0, p1, p2, health-check\n$/],
    [['start', 'constructor', '--service', 'acme-axon'], /unknown workflow "constructor"/],
    [['start', 'health-check', '--restart-mode', 'scale-to-zero'], /--restart-mode: not for the health check/],
    [['start', 'p1'], /--service NAME is required/],
  ];
  test.each(cases)('%j', async (argv, message) => {
    const r = await run(...argv, ...DEAD);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  test('sandbox --speed and --port stay validated (the binary: exit 2, one line)', () => {
    const speed = cli('sandbox', '--speed', 'fast');
    expect(speed.code).toBe(2);
    expect(speed.stderr).toMatch(/^incident-flows: --speed "fast" must be a number from 1 to 1000/);
    const port = cli('sandbox', '--port', '70000');
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/^incident-flows: --port "70000" must be a port number/);
  });
});

describe('--json on alarm, approve and reject: one machine-readable object, the same exit codes', () => {
  test('alarm --json: what was set', async () => {
    await withIncidents({}, async (sandbox) => {
      const out = capture();
      expect(await alarmCommand(['acme-orbit-unhealthy-hosts', '--state', 'ok', '--reason', 'testing the wiring', '--json', '--endpoint', sandbox.url], out.out)).toBe(0);
      expect(JSON.parse(out.text())).toEqual({ alarmName: 'acme-orbit-unhealthy-hosts', state: 'OK', reason: 'testing the wiring', handedToStartIncident: false });
      expect(executions(sandbox)).toHaveLength(0);
    });
  });

  test('approve --json: the decision as recorded, exit 0; the same again or an unknown id: decided false with the reason, exit 1; bad usage: exit 2, no JSON', async () => {
    await withPendingApproval(async (p) => {
      const lines = { out: '', err: '' };
      const out = { write: (t: string) => void (lines.out += t) };
      const err = { write: (t: string) => void (lines.err += t) };
      const args = [p.approvalId, '--reason', 'looked at the dashboards', '--json', '--endpoint', p.sandbox.url, '--table', TABLE];
      // The sandbox's clock, not this machine's: the approval expires on simulated time.
      expect(await approveCommand(args, 'approved', out, err, p.sandbox.clock)).toBe(0);
      const decided = JSON.parse(lines.out);
      expect(decided).toMatchObject({ approvalId: p.approvalId, decided: true, result: 'decided', status: 'approved', decision: 'approved', reason: 'looked at the dashboards', decidedBy: expect.stringContaining('sandbox-operator'), tier: 'on-call', service: 'acme-axon' });
      expect(lines.out).not.toMatch(/hooks\.slack|token/i);
      expect(lines.err).toBe('');

      // Once the workflow has it, the same command again decides nothing: exit 1, and the JSON says why.
      lines.out = '';
      expect(await approveCommand(args, 'approved', out, err, p.sandbox.clock)).toBe(1);
      expect(JSON.parse(lines.out)).toMatchObject({ approvalId: p.approvalId, decided: false, decision: 'approved', error: 'ApprovalAlreadyDecidedError', message: expect.stringMatching(/already approved/) });
      lines.err = '';

      lines.out = '';
      expect(await approveCommand(['apr-0123456789abcdef0123', '--json', '--endpoint', p.sandbox.url, '--table', TABLE], 'rejected', out, err)).toBe(2);
      expect(lines.out).toBe('');
      expect(lines.err).toMatch(/reject needs --reason/);

      lines.err = '';
      expect(await approveCommand(['apr-0123456789abcdef0123', '--reason', 'no', '--json', '--endpoint', p.sandbox.url, '--table', TABLE], 'rejected', out, err)).toBe(1);
      expect(JSON.parse(lines.out)).toMatchObject({ approvalId: 'apr-0123456789abcdef0123', decided: false, decision: 'rejected', error: expect.any(String), message: expect.any(String) });
      expect(lines.err.split('\n').filter(Boolean)).toHaveLength(1);
    });
  });
});

describe('start --wait follows the execution out loud, and its exit code tells success (0), failure (1) and a wait that gave up (3) apart', () => {
  test('3 when --wait-minutes ran out while it still runs, with a progress line per change', async () => {
    await withIncidents({ faults: [{ service: 'acme-axon', kind: 'crash-loop' }] }, async (sandbox, eventBridge) => {
      sandbox.playOut();
      // Simulated time is held: the execution cannot end, and --wait gives up after 3 s.
      const held = capture();
      const progress: string[] = [];
      expect(await startCommand(['p0', '--service', 'acme-axon', '--wait', '--wait-minutes', '0.05', '--endpoint', sandbox.url], held.out, (l) => progress.push(l))).toBe(3);
      expect(held.text()).toMatch(/^started arn:aws:states:[^\n]+:incident-flows-p0-system-down:cli-acme-axon-/);
      expect(held.text()).toMatch(/\nstatus: RUNNING — in "[^"]+"\n/);
      expect(held.text()).toMatch(/still running: --wait gave up after 0\.05 minute\(s\) \(raise --wait-minutes, or follow it with `incident-flows status cli-acme-axon-\S+`\)/);
      // A line when the status or the state changes, not one per poll.
      expect(progress.length).toBeGreaterThan(0);
      for (const line of progress) expect(line).toMatch(/^\d\d:\d\d:\d\d RUNNING — \S/);
      progress.forEach((line, i) => i > 0 && expect(line.slice(9)).not.toBe(progress[i - 1]!.slice(9)));
      await eventBridge.drain();
    });
  });

  test('0 succeeded and 1 failed, each with its progress lines; --json keeps stdout to one JSON document and prints no progress', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut();
      const endpoint = ['--endpoint', sandbox.url];
      const failed = capture();
      const failedProgress: string[] = [];
      expect(await startCommand(['p0', '--service', 'acme-nope', '--wait', ...endpoint], failed.out, (l) => failedProgress.push(l))).toBe(1);
      expect(failed.text()).toMatch(/^started arn:[\s\S]*\nstatus: FAILED — ServiceNotManagedError\n/);
      expect(failedProgress.at(-1)).toMatch(/^\d\d:\d\d:\d\d FAILED — ServiceNotManagedError$/);

      const ok = capture();
      const okProgress: string[] = [];
      expect(await startCommand(['p0', '--service', 'acme-orbit', '--dry-run', ...endpoint], ok.out, (l) => okProgress.push(l))).toBe(0);
      expect(ok.text()).toMatch(/status: SUCCEEDED — outcome (dry-run|no-action)/);
      expect(okProgress.at(-1)).toMatch(/^\d\d:\d\d:\d\d SUCCEEDED$/);

      const json = capture();
      const jsonProgress: string[] = [];
      expect(await startCommand(['p0', '--service', 'acme-orbit', '--dry-run', '--json', ...endpoint], json.out, (l) => jsonProgress.push(l))).toBe(0);
      expect(JSON.parse(json.text())).toMatchObject({ status: 'SUCCEEDED', waited: true });
      expect(jsonProgress).toEqual([]);
    });
  });
});

describe('start does not say "started" when the execution failed at once; it starts p1, p2 and the health check too', () => {
  test('a service the stack does not manage: the failure printed, exit 1 — without --wait', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut();
      const endpoint = ['--endpoint', sandbox.url];
      for (const workflow of ['p0', 'p1', 'p2']) {
        const out = capture();
        expect(await startCommand([workflow, '--service', 'acme-nope', ...endpoint], out.out)).toBe(1);
        expect(out.text()).toMatch(/^execution failed at once: arn:aws:states:/);
        expect(out.text()).not.toMatch(/^started/m);
        expect(out.text()).toMatch(/status: FAILED — ServiceNotManagedError/);
        expect(out.text()).toMatch(/cause: .*acme-nope/);
      }
      const json = capture();
      expect(await startCommand(['health-check', '--service', 'acme-nope', '--json', ...endpoint], json.out)).toBe(1);
      expect(JSON.parse(json.text())).toMatchObject({ waited: false, status: 'FAILED', error: 'ServiceNotManagedError' });
    });
  });

  test('p1, p2 and health-check start their own state machines; the health check needs no --service', async () => {
    await withSandbox({}, async (sandbox) => {
      sandbox.playOut();
      const endpoint = ['--endpoint', sandbox.url];
      const machines = { p1: 'p1-degraded', p2: 'p2-minor' } as const;
      for (const [workflow, machine] of Object.entries(machines)) {
        const out = capture();
        expect(await startCommand([workflow, '--service', 'acme-axon', '--json', ...endpoint], out.out)).toBe(0);
        const r = JSON.parse(out.text());
        expect(r.executionArn).toContain(`:incident-flows-${machine}:cli-acme-axon-`);
        expect(r.input).toMatchObject({ service: 'acme-axon', trigger: { kind: 'cli' } });
        expect(r.status === 'RUNNING' ? r.inputAccepted : r.status).toBe(r.status === 'RUNNING' ? true : 'SUCCEEDED');
      }

      const health = capture();
      expect(await startCommand(['health-check', '--wait', ...endpoint], health.out)).toBe(0);
      expect(health.text()).toMatch(/^started arn:aws:states:[^\n]+:incident-flows-health-check:cli-health-check-/);
      expect(health.text()).toMatch(/status: SUCCEEDED — outcome (healthy|unhealthy)/);
      const run = executions(sandbox).find((e) => e.executionArn.includes(':incident-flows-health-check:'))!;
      expect(JSON.parse(run.input)).toEqual({ reason: 'started by hand with the incident-flows CLI', trigger: { kind: 'cli', by: expect.any(String) } });

      const one = capture();
      expect(await startCommand(['health-check', '--service', 'acme-axon', '--json', ...endpoint], one.out)).toBe(0);
      expect(JSON.parse(one.text()).input).toMatchObject({ services: ['acme-axon'] });
    });
  });
});

describe('the CLI and synth run from a folder whose path has a space', () => {
  const dir = mkdtempSync(join(tmpdir(), 'incident flows '));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['cli/main.ts', isEntryPoint],
    ['infra/app.ts', isSynthEntryPoint],
  ])('%s: the entry-point check compares paths, not `file://${argv[1]}`', (_, check) => {
    const folder = join(dir, 'my project');
    mkdirSync(join(folder, 'cli'), { recursive: true });
    const script = join(folder, 'cli', 'main.ts');
    writeFileSync(script, '');
    const url = pathToFileURL(script).href;
    expect(url).toContain('%20');
    // What the old check compared: never equal in such a folder.
    expect(url === `file://${script}`).toBe(false);
    expect(check(url, script)).toBe(true);
    // npm scripts and bins reach it through symlinks and relative paths too.
    const link = join(dir, 'linked checkout');
    rmSync(link, { force: true });
    symlinkSync(folder, link);
    expect(check(url, join(link, 'cli', 'main.ts'))).toBe(true);
    expect(check(pathToFileURL(join(link, 'cli', 'main.ts')).href, script)).toBe(true);
    // Imported by something else (the bin, a test): not the entry point.
    expect(check(url, join(folder, 'bin', 'incident-flows.mjs'))).toBe(false);
    expect(check(url, undefined)).toBe(false);
  });
});
