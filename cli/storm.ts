import { parseArgs } from 'node:util';
import { CliUsageError } from './start.ts';

/**
 * `incident-flows drill storm`: an alarm storm against the sandbox. Several alarms per service flap
 * into ALARM hundreds of times within a simulated minute; every event goes through EventBridge to
 * start-incident, as in AWS. The promise: one execution per service, every event on its incident's
 * timeline, and a report per incident.
 */

export interface StormOptions {
  services: number;
  events: number;
  seconds: number;
  alarmsPerService: number;
}

export interface StormReport {
  services: number;
  events: number;
  simulatedSeconds: number;
  wallMillis: number;
  eventsPerSecondWall: number;
  executions: number;
  outcomes: Record<string, number>;
  incidents: { service: string; incidentId: string; alarmsOnTimeline: number; execution: string; status: string; outcome?: string }[];
  reportsPosted: number;
  /** Exactly one execution per service and every event on a timeline. */
  passed: boolean;
}

export async function runStorm(opts: StormOptions): Promise<StormReport> {
  const { Sandbox } = await import('../sandbox/index.ts');
  const { parseScenario } = await import('../sandbox/scenario.ts');
  const { eventBridgeOf } = await import('../sandbox/eventbridge.ts');
  const names = Array.from({ length: opts.services }, (_, i) => `storm-svc-${String(i + 1).padStart(2, '0')}`);
  const sandbox = await Sandbox.start(parseScenario({ services: names.map((name) => ({ name })) }));
  try {
    const eventBridge = eventBridgeOf(sandbox);
    const kinds = ['unhealthy-hosts', '5xx-rate', 'cpu-high', 'latency-p99', 'memory-high'].slice(0, opts.alarmsPerService);
    const alarms = names.flatMap((s) => kinds.map((k) => `${s}-${k}`));
    const wall = performance.now();
    const start = sandbox.clock.nowMs();
    const results = await eventBridge.storm(alarms, { events: opts.events, seconds: opts.seconds });
    const simulatedSeconds = (sandbox.clock.nowMs() - start) / 1000;
    const stormWall = performance.now() - wall;
    await eventBridge.drain();
    const outcomes: Record<string, number> = {};
    for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    const records = sandbox.sfn.listExecutionRecords();
    const incidents: StormReport['incidents'] = [];
    for (const r of results) {
      if (r.outcome !== 'started') continue;
      const incident = await eventBridge.incident(r.incidentId);
      const record = records.find((e) => e.executionArn === r.executionArn);
      incidents.push({
        service: r.service,
        incidentId: r.incidentId,
        alarmsOnTimeline: incident?.timeline.filter((e) => e.kind === 'alarm' || e.kind === 'alarm-after-close').length ?? 0,
        execution: record?.name ?? r.executionArn,
        status: record?.status ?? '?',
        ...(incident?.outcome ? { outcome: incident.outcome } : {}),
      });
    }
    const onTimelines = incidents.reduce((n, i) => n + i.alarmsOnTimeline, 0);
    return {
      services: opts.services,
      events: results.length,
      simulatedSeconds,
      wallMillis: Math.round(stormWall),
      eventsPerSecondWall: Math.round(results.length / (stormWall / 1000)),
      executions: records.length,
      outcomes,
      incidents: incidents.sort((a, b) => a.service.localeCompare(b.service)),
      reportsPosted: eventBridge.posts.length,
      passed: records.length === opts.services && onTimelines === results.length && eventBridge.failures.length === 0,
    };
  } finally {
    await sandbox.stop();
  }
}

export function renderStorm(r: StormReport): string {
  const lines = [
    `Alarm storm: ${r.events} alarm events across ${r.services} services in ${r.simulatedSeconds} simulated s (${r.wallMillis} ms wall, ${r.eventsPerSecondWall} events/s)`,
    `start-incident outcomes: ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `executions started: ${r.executions} (one per service: ${r.executions === r.services ? 'yes' : 'NO'})`,
    '',
    ...r.incidents.map((i) => `  ${i.service.padEnd(14)} ${String(i.alarmsOnTimeline).padStart(4)} alarms on the timeline  ${i.status.padEnd(9)} ${i.outcome ?? ''}  ${i.execution}`),
    '',
    `reports posted: ${r.reportsPosted}`,
    `Verdict: ${r.passed ? 'PASSED — every event accounted for, one execution per service' : 'FAILED'}`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function stormCommand(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    args,
    options: {
      services: { type: 'string', default: '10' },
      events: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '60' },
      'alarms-per-service': { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  const opts = {
    services: Number(values.services),
    events: Number(values.events),
    seconds: Number(values.seconds),
    alarmsPerService: Number(values['alarms-per-service']),
  };
  if (!Number.isInteger(opts.services) || opts.services < 1 || opts.services > 50) throw new CliUsageError('--services: a whole number from 1 to 50');
  if (!Number.isInteger(opts.events) || opts.events < 1 || opts.events > 20_000) throw new CliUsageError('--events: a whole number from 1 to 20000');
  if (!(opts.seconds > 0 && opts.seconds <= 3600)) throw new CliUsageError('--seconds: from 1 to 3600');
  if (!Number.isInteger(opts.alarmsPerService) || opts.alarmsPerService < 1 || opts.alarmsPerService > 5) throw new CliUsageError('--alarms-per-service: 1 to 5');
  const report = await runStorm(opts);
  out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStorm(report));
  return report.passed ? 0 : 1;
}
