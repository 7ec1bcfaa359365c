/**
 * `npm run bench:start-incident`: how fast start-incident takes alarm events against the local
 * DynamoDB (dynalite on the sandbox port, real SDK over HTTP), and its Lambda bundle.
 *  1. storm: N events across 10 services, delivered C at a time (mostly "append to the open
 *     incident": GetItem + UpdateItem), the 10 opening events also claim, budget and start;
 *  2. sequential: one event at a time (latency per event);
 *  3. opening events only: each event a new incident (claim, budget, record, StartExecution);
 *  4. minified ESM bundle size and cold import time of start-incident and record-incident.
 * Writes .bench/start-incident.json as well as printing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { eventBridgeOf } from '../sandbox/eventbridge.ts';
import { Sandbox } from '../sandbox/index.ts';
import { parseScenario } from '../sandbox/scenario.ts';
import { measureBundles, median } from './bundle.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);

const services = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${String(i + 1).padStart(3, '0')}`);

async function withEventBridge<T>(names: string[], body: (sandbox: Sandbox, eb: ReturnType<typeof eventBridgeOf>) => Promise<T>): Promise<T> {
  const sandbox = await Sandbox.start(parseScenario({ services: names.map((name) => ({ name })) }));
  const eb = eventBridgeOf(sandbox);
  eb.holdClock();
  try {
    return await body(sandbox, eb);
  } finally {
    eb.releaseClock();
    await eb.settled();
    await sandbox.stop();
  }
}

async function storm(): Promise<{ events: number; concurrency: number; millis: number; eventsPerSecond: number; executions: number }> {
  const names = services(10, 'bench');
  return withEventBridge(names, async (sandbox, eb) => {
    const alarms = names.flatMap((s) => [`${s}-unhealthy-hosts`, `${s}-5xx-rate`]);
    // Warm the clients and dynalite first.
    for (let i = 0; i < 20; i++) await eb.deliverToStartIncident({ 'detail-type': 'warm-up' });
    const started = performance.now();
    let fired = 0;
    while (fired < EVENTS) {
      const batch = [];
      for (let i = 0; i < CONCURRENCY && fired < EVENTS; i++, fired++) batch.push(eb.fireAlarm({ alarmName: alarms[fired % alarms.length]! }));
      await Promise.all(batch);
    }
    const millis = performance.now() - started;
    return { events: EVENTS, concurrency: CONCURRENCY, millis: Math.round(millis), eventsPerSecond: Math.round(EVENTS / (millis / 1000)), executions: sandbox.sfn.listExecutionRecords().length };
  });
}

async function sequential(): Promise<{ events: number; medianMillis: number; p95Millis: number; eventsPerSecond: number }> {
  const names = services(2, 'seq');
  return withEventBridge(names, async (_sandbox, eb) => {
    await eb.fireAlarm({ alarmName: `${names[0]}-unhealthy-hosts` });
    const samples: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await eb.fireAlarm({ alarmName: `${names[0]}-unhealthy-hosts` });
      samples.push(performance.now() - t);
    }
    const total = performance.now() - started;
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      events: samples.length,
      medianMillis: Math.round(median(samples) * 100) / 100,
      p95Millis: Math.round(sorted[Math.floor(sorted.length * 0.95)]! * 100) / 100,
      eventsPerSecond: Math.round(samples.length / (total / 1000)),
    };
  });
}

async function openings(): Promise<{ incidents: number; millis: number; incidentsPerSecond: number }> {
  // A sandbox runs at most 50 services (sandbox/scenario.ts).
  const names = services(50, 'open');
  return withEventBridge(names, async (sandbox, eb) => {
    const started = performance.now();
    for (let i = 0; i < names.length; i += CONCURRENCY) {
      await Promise.all(names.slice(i, i + CONCURRENCY).map((s) => eb.fireAlarm({ alarmName: `${s}-unhealthy-hosts` })));
    }
    const millis = performance.now() - started;
    if (sandbox.sfn.listExecutionRecords().length !== names.length) throw new Error('expected one execution per service');
    return { incidents: names.length, millis: Math.round(millis), incidentsPerSecond: Math.round(names.length / (millis / 1000)) };
  });
}

const results = {
  machine: `Node ${process.version}, ${process.platform}/${process.arch}`,
  storm: await storm(),
  sequential: await sequential(),
  openings: await openings(),
  bundles: await measureBundles(['start-incident', 'record-incident']),
};

console.log(`start-incident against the local DynamoDB (dynalite over HTTP, real SDK) — ${results.machine}`);
console.log(`  storm:      ${results.storm.events} events, 10 services, ${results.storm.concurrency} at a time: ${results.storm.eventsPerSecond} events/s (${results.storm.millis} ms, ${results.storm.executions} executions)`);
console.log(`  sequential: ${results.sequential.eventsPerSecond} events/s, median ${results.sequential.medianMillis} ms, p95 ${results.sequential.p95Millis} ms per event`);
console.log(`  openings:   ${results.openings.incidents} new incidents (claim + budget + record + StartExecution): ${results.openings.incidentsPerSecond} incidents/s`);
console.log('Bundles (esbuild, ESM, mainFields module,main, minified) and cold import time:');
for (const b of results.bundles) console.log(`  ${b.handler.padEnd(16)} ${(b.bytes / 1024).toFixed(0).padStart(5)} KB  ${b.initMillis} ms`);
mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/start-incident.json', `${JSON.stringify(results, null, 2)}\n`);
