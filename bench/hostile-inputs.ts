/**
 * `npm run bench:hostile`: issue 8's hostile-input figures, measured on this machine.
 *
 * ≥200 hostile inputs across every entry point — alarm events, console start input, Slack
 * requests, handler events, CLI arguments, scenario files, the sandbox's own HTTP API — each
 * checked for (a) a clear, NAMED error or a logged ignore-with-reason (never a stack trace, a hang
 * or an unnamed Error) and (b) zero mutating calls; then 10,000 forged or mutated Slack requests:
 * 0 accepted, 0 double decisions. Prints a table by entry point and every failure, writes
 * .bench/hostile.json. Exit code 0 only when every promise held.
 *
 *   BENCH_FUZZ=1000 npm run bench:hostile        # fewer Slack requests
 *   BENCH_ONLY=cli,slack npm run bench:hostile   # some entry points only
 *
 * The harness and the cases are in bench/hostile/; test/hostile/ runs a fast subset in CI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { runAlarmEvents } from './hostile/alarm-events.ts';
import { runCliArguments } from './hostile/cli.ts';
import { runHandlerEvents } from './hostile/handler-events.ts';
import { failures, summarise, type EntryReport } from './hostile/harness.ts';
import { runSandboxHttp } from './hostile/sandbox-http.ts';
import { runScenarioFiles } from './hostile/scenario-files.ts';
import { runSlack, type FuzzReport } from './hostile/slack.ts';
import { runStartInputs } from './hostile/start-input.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const FUZZ = Number(process.env.BENCH_FUZZ ?? 10_000);
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const want = (key: string) => ONLY.size === 0 || ONLY.has(key);

const wall = performance.now();
const reports: EntryReport[] = [];
let fuzz: FuzzReport | undefined;
const step = async (key: string, label: string, run: () => Promise<EntryReport>) => {
  if (!want(key)) return;
  process.stdout.write(`${label} …`);
  const r = await run();
  reports.push(r);
  const s = summarise(r);
  process.stdout.write(` ${s.inputs} inputs, ${s.clearPercent} % clear, ${s.mutatingCalls} mutating, ${Math.round(s.wallMs / 100) / 10} s\n`);
};

await step('alarm', 'alarm events → start-incident', () => runAlarmEvents());
await step('start', 'console start input → P0 StartExecution', () => runStartInputs());
await step('slack', `Slack requests → the approval callback (+ ${FUZZ.toLocaleString('en')} mutated)`, async () => {
  const r = await runSlack({ fuzz: FUZZ });
  fuzz = r.fuzz;
  return r;
});
await step('handlers', 'handler events → each handler directly', () => runHandlerEvents());
await step('cli', 'CLI arguments → node bin/incident-flows.mjs', () => runCliArguments());
await step('scenario', 'scenario files → drill p0 / sandbox --scenario', () => runScenarioFiles());
await step('http', "the sandbox's HTTP API", () => runSandboxHttp());
const wallMs = Math.round(performance.now() - wall);

const summaries = reports.map(summarise);
const total = {
  inputs: summaries.reduce((n, s) => n + s.inputs, 0),
  clearNamed: summaries.reduce((n, s) => n + s.clearNamed, 0),
  mutatingCalls: summaries.reduce((n, s) => n + s.mutatingCalls, 0),
  hangs: summaries.reduce((n, s) => n + s.hangs, 0),
  stackTraces: summaries.reduce((n, s) => n + s.stackTraces, 0),
};
const clearPercent = total.inputs ? Math.round((total.clearNamed / total.inputs) * 1000) / 10 : 100;

console.log('\nHostile inputs by entry point:');
console.table(
  Object.fromEntries([
    ...summaries.map((s) => [s.entry, { inputs: s.inputs, 'clear named errors': s.clearNamed, '%': s.clearPercent, 'mutating calls': s.mutatingCalls, hangs: s.hangs, 'stack traces': s.stackTraces, 'wall s': Math.round(s.wallMs / 100) / 10 }]),
    ['TOTAL', { inputs: total.inputs, 'clear named errors': total.clearNamed, '%': clearPercent, 'mutating calls': total.mutatingCalls, hangs: total.hangs, 'stack traces': total.stackTraces, 'wall s': Math.round(wallMs / 100) / 10 }],
  ]),
);

const failed = reports.flatMap(failures);
if (failed.length) {
  console.log(`\n${failed.length} input(s) broke a promise:`);
  for (const f of failed) {
    console.log(`  [${f.entry}] ${f.case}: ${f.verdict}${f.name ? ` (${f.name})` : ''} — ${f.detail.slice(0, 220)}`);
    for (const m of f.mutations) console.log(`      mutating: ${m}`);
  }
}
const records = reports.flatMap((r) => r.outcomes.filter((o) => o.records.length > 0));
if (records.length) {
  const pages = records.filter((o) => o.records.some((x) => x.startsWith('paged'))).length;
  console.log(`\nRecorded, not counted as mutations: ${records.length} input(s) left an incident record${pages ? `, ${pages} of them paged people` : ''} (e.g. ${records[0]!.entry}: ${records[0]!.case} → ${records[0]!.records.join(', ')}).`);
}
if (fuzz) {
  console.log(`\nSlack fuzz: ${fuzz.requests.toLocaleString('en')} forged or mutated requests in ${Math.round(fuzz.wallMs / 100) / 10} s — ${fuzz.accepted} accepted, ${fuzz.doubleDecisions} double decisions; ${fuzz.acknowledgedRetries} retries of the accepted click answered already_recorded; the decision: ${fuzz.decidedBy}.`);
  console.log(`  statuses ${JSON.stringify(fuzz.statuses)}; codes ${JSON.stringify(fuzz.codes)}`);
  if (fuzz.acceptedExamples.length) console.log(`  accepted: ${fuzz.acceptedExamples.join(' | ')}`);
}
console.log(`\nWall time: ${Math.round(wallMs / 100) / 10} s.`);

mkdirSync('.bench', { recursive: true });
writeFileSync(
  '.bench/hostile.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, wallMs, total: { ...total, clearPercent }, entryPoints: summaries, slackFuzz: fuzz, failures: failed, outcomes: reports.flatMap((r) => r.outcomes) }, null, 2)}\n`,
);
console.log('Written: .bench/hostile.json');
const ok = failed.length === 0 && (!fuzz || (fuzz.accepted === 0 && fuzz.doubleDecisions === 0));
process.exit(ok ? 0 : 1);
