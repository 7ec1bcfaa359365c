/**
 * `npm run bench`: the figures issue 2 asks for, measured on this machine.
 *  1. wall time of the P0 drill (first run in the process, then warm runs);
 *  2. for each drill fault: state transitions, simulated time to recover, the simulator's own
 *     stabilisation time, and how long the workflow took to notice stability;
 *  3. minified bundle size and cold import time of each handler;
 *  4. for each P0 drill fault, time to first action: seconds from the alarm to the first remediating
 *     call, and the time to recover, with AWS's latencies charged (sandbox/latency.ts) and without.
 * Every drill runs with AWS's latencies (Lambda cold starts, state transitions, API round trips)
 * unless a row says otherwise. Writes .bench/p0.json as well as printing a table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { runDrill } from '../cli/drill.ts';
import { DRILL_FAULTS, planDrill } from '../cli/drill-scenario.ts';
import { AWS_LATENCY } from '../sandbox/latency.ts';
import { HANDLER_NAMES } from '../handlers/registry.ts';
import { measureBundles, median } from './bundle.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const WARM_RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function drillWallTimes() {
  const first = await runDrill(planDrill({ fault: 'crash-loop' }));
  const warm: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) warm.push((await runDrill(planDrill({ fault: 'crash-loop' }))).wallMillis);
  return { firstMillis: first.wallMillis, warmMedianMillis: median(warm), warmRuns: warm };
}

/** What a user waits for: `npx incident-flows drill p0`, first ever (template synthesized) and after. */
function cliWallTimes() {
  const run = () => {
    const started = performance.now();
    const r = spawnSync(process.execPath, ['bin/incident-flows.mjs', 'drill', 'p0', '--json'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`drill failed: ${r.stderr}`);
    return Math.round(performance.now() - started);
  };
  rmSync('node_modules/.cache/incident-flows', { recursive: true, force: true });
  const coldMillis = run();
  const warm = [run(), run(), run()];
  return { coldMillis, warmMedianMillis: median(warm) };
}

async function recoveryFigures() {
  const cases = [
    { label: 'crash-loop', plan: planDrill({ fault: 'crash-loop' }) },
    { label: 'sticky-crash-loop', plan: planDrill({ fault: 'sticky-crash-loop' }) },
    { label: 'slow-start', plan: planDrill({ fault: 'slow-start' }) },
    { label: 'ledger (3 tasks, 40 s start)', plan: planDrill({ scenarioFile: 'examples/ledger-crash-loop.json' }) },
    // Issue 7's case: tasks take up to 15 min to become healthy behind an ALB with a 300 s deregistration delay.
    { label: 'slow ALB (≤15 min to healthy, 300 s dereg)', plan: planDrill({ scenarioFile: 'examples/slow-alb-crash-loop.json' }) },
  ];
  const rows = [];
  for (const c of cases) {
    const r = await runDrill(c.plan);
    // The simulator's steady time is measured from the first change the workflow made.
    const sim = r.simulatorStableAfterSeconds;
    const noticedAfter = sim !== undefined ? r.simulatedSeconds - sim : undefined;
    rows.push({
      case: c.label,
      outcome: r.outcome,
      transitions: r.transitions,
      timeToRecoverSeconds: r.simulatedSeconds,
      simulatorStableSeconds: sim,
      noticedAfterSeconds: noticedAfter,
      overheadPercent: sim ? Math.round(((r.simulatedSeconds - sim) / sim) * 1000) / 10 : undefined,
    });
  }
  return rows;
}

/**
 * Issue "time to first action, measured honestly": per P0 drill fault (bad-deploy included once
 * cli/drill-scenario.ts has it), the alarm → first remediating call and the time to recover with
 * AWS's latencies, next to the same drill with the automation free, so the automation's own share shows.
 */
async function firstActionFigures() {
  const rows = [];
  for (const fault of Object.keys(DRILL_FAULTS)) {
    const aws = await runDrill(planDrill({ fault }), { latency: 'aws' });
    const free = await runDrill(planDrill({ fault }), { latency: 'none' });
    rows.push({
      fault,
      outcome: aws.outcome,
      firstRemediatingCallSeconds: aws.firstRemediatingCallSeconds,
      timeToRecoverSeconds: aws.simulatedSeconds,
      timeToRecoverWithoutLatencySeconds: free.simulatedSeconds,
      automationShareSeconds: aws.simulatedSeconds - free.simulatedSeconds,
    });
  }
  return rows;
}

const cli = cliWallTimes();
const drill = await drillWallTimes();
const recovery = await recoveryFigures();
const firstAction = await firstActionFigures();
const bundles = await measureBundles([...HANDLER_NAMES, 'ecs-events']);

console.log('\nP0 drill through the CLI (`incident-flows drill p0`, a new Node process each):');
console.log(`  first ever ${cli.coldMillis} ms (synthesizes the CDK app), then median ${cli.warmMedianMillis} ms`);
console.log('\nP0 drill wall time (crash-loop, in-process):');
console.log(`  first run ${drill.firstMillis} ms (includes sandbox boot; template from cache when warm), warm median ${drill.warmMedianMillis} ms over ${WARM_RUNS}`);
console.log("\nTime to recover, simulated seconds, AWS's latencies charged (workflow from the alarm; simulator from the first change):");
console.table(recovery);
console.log("\nTime to first action (P0 drills): alarm → first remediating ECS call, and time to recover, with AWS's latencies and without:");
console.table(firstAction);
const m = AWS_LATENCY;
console.log(
  `  model "${m.name}": Lambda cold start ${m.lambda.coldStartSeconds} s (first invocation of each function), invoke ${m.lambda.invokeSeconds} s, ` +
    `state transition ${m.stateTransitionSeconds} s, API call ${m.api.defaultSeconds} s (${Object.entries(m.api.operations).map(([k, v]) => `${k} ${v} s`).join(', ')}), ` +
    `EventBridge delivery ${m.eventDeliverySeconds} s, ±${m.jitter * 100} % seeded jitter — sources in sandbox/latency.ts`,
);
console.log('Handler bundles (esbuild, ESM, module-first, minified) and cold import time:');
console.table(bundles.map((b) => ({ handler: b.handler, KB: Math.round(b.bytes / 1024), initMs: b.initMillis })));

mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/p0.json', `${JSON.stringify({ at: new Date().toISOString(), node: process.version, cli, drill, recovery, firstAction, latencyModel: AWS_LATENCY, bundles }, null, 2)}\n`);
