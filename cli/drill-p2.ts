import { Sandbox } from '../sandbox/index.ts';
import { eventBridgeOf, fireAlarm } from '../sandbox/eventbridge.ts';
import { parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../sandbox/scenario.ts';
import { checkSimulationSize, loadDrillScenario } from './drill-scenario.ts';
import { drillServiceOf, readExecution, renderChecksDrill, type ChecksDrillReport } from './drill-report.ts';

/** The faults `drill p2` injects on its service, and what P2 must make of each. */
export const P2_DRILL_FAULTS = {
  'warn-flood': { expected: 'scheduled-fix', about: 'the service writes WARN lines of four patterns, 20 a minute for the last 45 minutes; it stays healthy' },
  none: { expected: 'no-action', about: 'a quiet service (the alarm fires at once): no WARN line in the last hour, nothing to schedule' },
} as const;
export type P2DrillFault = keyof typeof P2_DRILL_FAULTS;

export interface P2DrillPlan {
  scenario: Scenario;
  service: string;
  fault: P2DrillFault;
  expected: string;
}

export function planP2Drill(options: { scenarioFile?: string | undefined; service?: string | undefined; fault?: string | undefined }): P2DrillPlan {
  if (options.fault !== undefined && !(options.fault in P2_DRILL_FAULTS)) {
    throw new ScenarioError(`--fault "${options.fault}" is not a P2 drill fault — use one of: ${Object.keys(P2_DRILL_FAULTS).join(', ')}`);
  }
  const fault = (options.fault ?? 'warn-flood') as P2DrillFault;
  const base = options.scenarioFile ? loadDrillScenario(options.scenarioFile) : parseScenario({});
  const service = drillServiceOf(base, options.service);
  const { serviceFaults, apiFaults, eventFaults, ...rest } = base;
  const input: ScenarioInput = {
    ...rest,
    // A quiet service: the alarm fires at once, before any routine WARN line is written.
    ...(fault === 'none' ? { leadSeconds: 0 } : {}),
    faults: [...apiFaults, ...eventFaults, ...serviceFaults.filter((f) => f.service !== service), ...(fault === 'warn-flood' ? [{ service, kind: 'warn-flood' as const }] : [])],
  };
  return { scenario: checkSimulationSize(parseScenario(input)), service, fault, expected: P2_DRILL_FAULTS[fault].expected };
}

/** The P2 alarm of the service: "<service>-p2-…" routes to P2 (infra/incidents.ts defaults). */
export const p2AlarmNameFor = (service: string) => `${service}-p2-warn-lines`;

/**
 * Runs one P2 drill on a fresh sandbox: the WARN flood plays out, the service's P2 alarm fires,
 * start-incident starts p2-minor, and the drill checks that the fix was scheduled (or nothing
 * was), with no change to the service.
 */
export async function runP2Drill(plan: P2DrillPlan): Promise<ChecksDrillReport> {
  const wallStart = performance.now();
  const sandbox = await Sandbox.start(plan.scenario);
  try {
    sandbox.playOut();
    const run = { sandbox, wallStart, started: sandbox.clock.nowMs(), service: plan.service, desiredBefore: sandbox.fleet.snapshot(plan.service)?.desiredCount ?? 0 };
    const alarmName = p2AlarmNameFor(plan.service);
    const executionArn = await fireAlarm(sandbox, { alarmName, reason: `Threshold Crossed: WARN lines of ${plan.service} above the usual rate` });
    if (!executionArn) {
      const why = eventBridgeOf(sandbox).logs.at(-1);
      throw new Error(`the alarm ${alarmName} started no execution: ${why ? JSON.stringify(why) : 'no reason logged'}`);
    }
    const { output, common } = await readExecution(run, executionArn);
    const outcome = common.status === 'SUCCEEDED' ? String(output.outcome ?? 'succeeded') : common.error === 'IncidentEscalated' ? 'escalated' : 'failed';
    const summary = (output.investigation as { logs?: Record<string, unknown> } | undefined)?.logs;
    return {
      workflow: 'p2-minor',
      service: plan.service,
      cluster: plan.scenario.cluster,
      fault: plan.fault,
      outcome,
      expectedOutcome: plan.expected,
      // P2 changes nothing: no ECS change, the desired count as it was.
      passed: outcome === plan.expected && common.mutatingCalls === 0 && common.desiredAfter === common.desiredBefore,
      alarmName,
      ...common,
      ...(summary ? { warnings: { count: summary.count, patterns: summary.patterns, groups: summary.groups } } : {}),
      ...(output.scheduledFix ? { scheduledFix: output.scheduledFix } : {}),
    } as ChecksDrillReport;
  } finally {
    await sandbox.stop();
  }
}

export function renderP2Drill(r: ChecksDrillReport & { warnings?: { count: number; groups: { pattern: string; count: number }[] }; scheduledFix?: { window?: { label?: string } } }): string {
  const about = P2_DRILL_FAULTS[r.fault as P2DrillFault]?.about ?? '';
  const extra = r.warnings
    ? [`WARN lines in the last hour: ${r.warnings.count}, by pattern:`, ...r.warnings.groups.slice(0, 6).map((g) => `  ×${String(g.count).padStart(4)}  ${g.pattern}`)]
    : [];
  if (r.scheduledFix?.window?.label) extra.push(`Fix scheduled for the maintenance window ${r.scheduledFix.window.label}; summary posted to Slack.`);
  return renderChecksDrill(r, [`P2 drill: ${r.service} in ${r.cluster}, fault "${r.fault}" — ${about}`, `CloudWatch alarm ${r.alarmName} → ALARM → EventBridge → start-incident → StartExecution ${r.workflow}`], extra);
}

/** `incident-flows drill p2 [--service NAME] [--fault warn-flood|none] [--scenario FILE] [--json]`: 0 when P2 did what the fault calls for, 1 otherwise. */
export async function p2DrillCommand(values: { service?: string | undefined; fault?: string | undefined; scenario?: string | undefined; approval?: string | undefined; json?: boolean | undefined }, extra: string[]): Promise<number> {
  if (extra.length > 0) throw new ScenarioError(`unexpected argument "${extra[0]!.slice(0, 60)}" after "drill p2" — options start with --`);
  if (values.approval !== undefined) throw new ScenarioError('--approval applies to drill p0 and p1 only: P2 changes nothing, so it asks nobody');
  const report = await runP2Drill(planP2Drill({ scenarioFile: values.scenario, service: values.service, fault: values.fault }));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderP2Drill(report)}\n`);
  return report.passed ? 0 : 1;
}
