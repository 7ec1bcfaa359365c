/**
 * Entry point: scenario files (`incident-flows drill p0 --scenario FILE`, `incident-flows sandbox
 * --scenario FILE`). Each hostile file must be refused with a ScenarioError naming the file or the
 * field — before any sandbox boots, and in seconds: malformed JSON, names ECS refuses ("../", "*",
 * "a b"), huge numbers, fleets the simulator would take hours over. Checked in-process (the
 * function both commands call) for every file, and through the real CLI for a few.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDrillScenario, planDrill } from '../../cli/drill-scenario.ts';
import { runCliCases, type CliCase } from './cli.ts';
import { fromError, outcome, type EntryReport, type Outcome } from './harness.ts';

const ENTRY = 'scenario files' as const;

export interface ScenarioCase {
  name: string;
  /** File content (a string or bytes), or a directory when null. */
  content: string | Buffer | null;
  /** Also through the CLI (`drill p0 --scenario`). */
  cli?: boolean;
  ci?: boolean;
}

const j = (v: unknown) => JSON.stringify(v);
const svc = (extra: Record<string, unknown>) => j({ services: [{ name: 'ledger', ...extra }] });

export const SCENARIO_CASES: ScenarioCase[] = [
  // not JSON, not an object
  { name: 'an empty file', content: '', cli: true },
  { name: 'malformed JSON', content: '{"services": [{"name": "ledger"}', cli: true, ci: true },
  { name: 'JSON with comments', content: '{ // the ledger\n "services": [] }' },
  { name: 'binary garbage', content: Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x80, 0x81, 0x00]) },
  { name: 'the JSON null', content: 'null', cli: true },
  { name: 'a JSON array', content: '[]' },
  { name: 'a JSON string', content: '"acme"' },
  { name: 'a JSON number', content: '42' },
  { name: 'a directory', content: null, cli: true },
  { name: 'a 2 MB file', content: j({ project: 'acme', pad: 'x'.repeat(2 * 1024 * 1024) }) },
  { name: 'JSON nested 40,000 deep', content: `{"services": ${'['.repeat(40_000)}${']'.repeat(40_000)}}` },
  // names ECS refuses
  { name: 'service name "../"', content: svc({ name: '../' }), cli: true, ci: true },
  { name: 'service name "*"', content: svc({ name: '*' }), cli: true },
  { name: 'service name "a b"', content: svc({ name: 'a b' }), cli: true },
  { name: 'service name empty', content: svc({ name: '' }) },
  { name: 'service name of 256 characters', content: svc({ name: 'x'.repeat(256) }) },
  { name: 'service name with a NUL byte', content: svc({ name: 'ledger\u0000' }) },
  { name: 'service name with a newline', content: svc({ name: 'ledger\nrm -rf' }) },
  { name: 'two services with one name', content: j({ services: [{ name: 'ledger' }, { name: 'ledger' }] }) },
  { name: 'no services', content: j({ services: [] }) },
  { name: 'cluster "../"', content: j({ cluster: '../prod' }) },
  { name: 'project in upper case', content: j({ project: 'ACME' }) },
  { name: 'family "a b"', content: svc({ family: 'a b' }) },
  // places and times
  { name: 'region "../"', content: j({ region: '../' }), cli: true },
  { name: 'region with a space', content: j({ region: 'us east 1' }) },
  { name: 'region of 300 characters', content: j({ region: 'x'.repeat(300) }) },
  { name: 'account id of 11 digits', content: j({ accountId: '12345678901' }) },
  { name: 'startTime 30 February', content: j({ startTime: '2026-02-30T00:00:00Z' }) },
  { name: 'startTime "now"', content: j({ startTime: 'now' }) },
  // huge numbers
  { name: 'desiredCount 1e9', content: svc({ desiredCount: 1e9 }), cli: true },
  { name: 'desiredCount -1', content: svc({ desiredCount: -1 }) },
  { name: 'desiredCount 2.5', content: svc({ desiredCount: 2.5 }) },
  { name: '1,000 crash-looping tasks', content: j({ services: [{ name: 'big', desiredCount: 1000 }], faults: [{ service: 'big', kind: 'crash-loop', crashAfterSeconds: 1 }], leadSeconds: 86_400 }), cli: true, ci: true },
  { name: '5 services of 100 tasks', content: j({ services: Array.from({ length: 5 }, (_, i) => ({ name: `s${i}`, desiredCount: 100 })) }) },
  { name: '100 tasks crash-looping for a day', content: j({ services: [{ name: 'big', desiredCount: 100 }], faults: [{ service: 'big', kind: 'crash-loop' }], leadSeconds: 86_400 }) },
  { name: '10,000 services', cli: true, content: j({ services: Array.from({ length: 10_000 }, (_, i) => ({ name: `s${i}`, desiredCount: 0 })) }) },
  { name: 'leadSeconds 1e9', content: j({ leadSeconds: 1e9 }) },
  { name: 'leadSeconds Infinity (1e400)', content: '{"leadSeconds": 1e400}' },
  { name: 'seed 1e308', content: j({ seed: 1e308 }) },
  { name: 'startSeconds 1e308', content: svc({ startSeconds: 1e308 }) },
  { name: 'healthCheckGracePeriodSeconds 1e12', content: svc({ healthCheckGracePeriodSeconds: 1e12 }) },
  { name: 'maximumPercent 10,000', content: svc({ maximumPercent: 10_000 }) },
  { name: 'crashAfterSeconds 0', content: j({ services: [{ name: 'ledger' }], faults: [{ service: 'ledger', kind: 'crash-loop', crashAfterSeconds: 0 }] }) },
  { name: 'slowFactor 1e6', content: j({ services: [{ name: 'ledger' }], faults: [{ service: 'ledger', kind: 'slow-start', slowFactor: 1e6 }] }) },
  { name: 'API fault delay of 1e9 ms', content: j({ faults: [{ api: 'ecs', kind: 'slow-response', rate: 1, delayMs: 1e9 }] }) },
  // faults that name nothing
  { name: 'a fault on a service not in the scenario', content: j({ services: [{ name: 'ledger' }], faults: [{ service: '../ledger', kind: 'crash-loop' }] }) },
  { name: 'an unknown fault kind', content: j({ faults: [{ service: 'acme-axon', kind: 'meteor' }] }) },
  { name: 'an API fault on an unknown API', content: j({ faults: [{ api: 'iam', kind: 'throttle', rate: 0.5 }] }) },
  { name: 'an API fault rate of 2', content: j({ faults: [{ api: 'ecs', kind: 'throttle', rate: 2 }] }) },
  { name: 'unknown fields', content: j({ services: [{ name: 'ledger', replicas: 3 }] }) },
  { name: '__proto__ key', content: '{"__proto__": {"leadSeconds": 0}, "project": "acme"}' },
  { name: 'a CloudTrail seed from 10 days ago', content: j({ cloudTrail: [{ eventName: 'UpdateService', minutesAgo: 14_400 }] }) },
];

/** Every file, in-process (what `drill p0` and `sandbox` call), then the CLI for the marked ones. */
export async function runScenarioFiles(opts: { cases?: ScenarioCase[]; cli?: boolean } = {}): Promise<EntryReport> {
  const cases = opts.cases ?? SCENARIO_CASES;
  const wall = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'incident-flows-scenarios-'));
  const pathOf = new Map<ScenarioCase, string>();
  cases.forEach((c, i) => {
    const path = join(dir, `scenario-${i}.json`);
    if (c.content === null) mkdirSync(path);
    else writeFileSync(path, c.content);
    pathOf.set(c, path);
  });
  const outcomes: Outcome[] = [];
  for (const c of cases) {
    const started = performance.now();
    let v: { verdict: Outcome['verdict']; name?: string; detail: string };
    try {
      // Both commands read the file the same way; the drill also plans its fault on top.
      loadDrillScenario(pathOf.get(c)!);
      const plan = planDrill({ scenarioFile: pathOf.get(c)! });
      v = { verdict: 'accepted', name: 'planned', detail: `a drill of ${plan.service} would run (${plan.scenario.services.length} service(s))` };
    } catch (err) {
      v = fromError(err);
    }
    outcomes.push(outcome(ENTRY, `${c.name} (drill and sandbox)`, v, [], [], performance.now() - started));
  }
  if (opts.cli !== false) {
    const cliCases: CliCase[] = cases.filter((c) => c.cli).map((c) => ({ name: `${c.name} (incident-flows drill p0 --scenario)`, exit: 2, args: () => ['drill', 'p0', '--scenario', pathOf.get(c)!] }));
    const viaCli = await runCliCases(ENTRY, cliCases);
    outcomes.push(...viaCli.outcomes);
  }
  return { entry: ENTRY, outcomes, wallMs: performance.now() - wall };
}
