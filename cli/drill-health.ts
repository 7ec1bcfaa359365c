import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Sandbox } from '../sandbox/index.ts';
import { functionsOf, tablesOf } from '../sandbox/governance.ts';
import { parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../sandbox/scenario.ts';
import { checkSimulationSize, loadDrillScenario } from './drill-scenario.ts';
import { HEALTH_CHECK_HANDLER_NAMES } from '../handlers/registry-checks.ts';
import { drillServiceOf, readExecution, renderChecksDrill, type ChecksDrillReport } from './drill-report.ts';

/** The faults `drill health-check` injects, and which line of the report must turn red. */
export const HEALTH_DRILL_FAULTS = {
  none: { expected: 'healthy', red: undefined, about: 'everything as the runbook expects: every line green' },
  'service-down': { expected: 'unhealthy', red: 'service', about: 'the service crash-loops (tasks exit seconds after starting); its line turns red and a P0 incident is opened' },
  'lambda-down': { expected: 'unhealthy', red: 'function', about: 'the governance Lambda answers every invoke with FunctionError Unhandled' },
  'table-missing': { expected: 'unhealthy', red: 'table', about: 'the governance policy table does not exist (DescribeTable: ResourceNotFoundException)' },
  'cpu-high': { expected: 'unhealthy', red: 'cpu', about: 'for the last hour the service got 2.5 times its usual work (cpu-saturation): average CPU above 70 %, a P1 incident is opened' },
} as const;
export type HealthDrillFault = keyof typeof HEALTH_DRILL_FAULTS;

export interface HealthDrillPlan {
  scenario: Scenario;
  service: string;
  fault: HealthDrillFault;
  expected: string;
}

export function planHealthDrill(options: { scenarioFile?: string | undefined; service?: string | undefined; fault?: string | undefined }): HealthDrillPlan {
  if (options.fault !== undefined && !(options.fault in HEALTH_DRILL_FAULTS)) {
    throw new ScenarioError(`--fault "${options.fault}" is not a health-check drill fault — use one of: ${Object.keys(HEALTH_DRILL_FAULTS).join(', ')}`);
  }
  const fault = (options.fault ?? 'none') as HealthDrillFault;
  const base = options.scenarioFile ? loadDrillScenario(options.scenarioFile) : parseScenario({});
  const service = drillServiceOf(base, options.service);
  const { serviceFaults, apiFaults, eventFaults, ...rest } = base;
  const functions = functionsOf(base);
  const tables = tablesOf(base);
  const input: ScenarioInput = {
    ...rest,
    // The runbook reviews the hour's average CPU: the saturation plays out for the hour before the check.
    ...(fault === 'cpu-high' ? { leadSeconds: Math.max(base.leadSeconds, 3600) } : {}),
    functions: fault === 'lambda-down' ? functions.map((f, i) => (i === 0 ? { ...f, fault: 'unhandled-error' as const } : f)) : functions,
    tables: fault === 'table-missing' ? tables.map((t, i) => (i === 0 ? { ...t, missing: true } : t)) : tables,
    faults: [
      ...apiFaults,
      ...eventFaults,
      ...serviceFaults.filter((f) => f.service !== service),
      ...(fault === 'service-down' ? [{ service, kind: 'crash-loop' as const }] : []),
      ...(fault === 'cpu-high' ? [{ service, kind: 'cpu-saturation' as const }] : []),
    ],
  };
  return { scenario: checkSimulationSize(parseScenario(input)), service, fault, expected: HEALTH_DRILL_FAULTS[fault].expected };
}

interface HealthOutput {
  outcome?: string;
  report?: { lines?: { kind: string; component: string; ok: boolean; figure: string }[]; text?: string };
  incidents?: { incidents?: { service: string; severity: string; outcome: string; incidentId?: string; executionArn?: string }[] };
}

/**
 * Runs one health-check drill on a fresh sandbox: the fault plays out, the health check starts as
 * the daily schedule starts it, and the drill checks the report — every line green, or the
 * fault's line red — and that the check itself changed nothing.
 */
export async function runHealthDrill(plan: HealthDrillPlan): Promise<ChecksDrillReport> {
  const wallStart = performance.now();
  const sandbox = await Sandbox.start(plan.scenario);
  try {
    sandbox.playOut();
    const run = { sandbox, wallStart, started: sandbox.clock.nowMs(), service: plan.service, desiredBefore: sandbox.fleet.snapshot(plan.service)?.desiredCount ?? 0 };
    const sfn = new SFNClient(sandbox.clientOptions());
    // What EventBridge Scheduler sends (infra/checks.ts).
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn('health-check'), input: JSON.stringify({ trigger: { kind: 'schedule' } }) }));
    const { output, common } = await readExecution(run, executionArn!);
    const out = output as HealthOutput;
    const outcome = common.status === 'SUCCEEDED' ? String(out.outcome ?? 'succeeded') : 'failed';
    const lines = out.report?.lines ?? [];
    const red = HEALTH_DRILL_FAULTS[plan.fault].red;
    // The check's own handlers make no change: only an incident it opened may act on the service.
    const ownChanges = sandbox.invocations.filter((i) => HEALTH_HANDLERS.has(i.handler)).flatMap((i) => i.calls.filter((c) => /^ecs:(Update|Register|Create|Delete)/.test(c)));
    const redOk = red === undefined ? lines.every((l) => l.ok) : lines.some((l) => !l.ok && l.kind === red);
    return {
      workflow: 'health-check',
      service: plan.service,
      cluster: plan.scenario.cluster,
      fault: plan.fault,
      outcome,
      expectedOutcome: plan.expected,
      passed: outcome === plan.expected && redOk && ownChanges.length === 0,
      alarmName: '',
      ...common,
      lines,
      ...(out.report?.text ? { text: out.report.text } : {}),
      incidents: out.incidents?.incidents ?? [],
    } as ChecksDrillReport;
  } finally {
    await sandbox.stop();
  }
}

const HEALTH_HANDLERS: ReadonlySet<string> = new Set(HEALTH_CHECK_HANDLER_NAMES);

export function renderHealthDrill(r: ChecksDrillReport & { text?: string; incidents?: { service: string; severity: string; outcome: string; incidentId?: string }[] }): string {
  const about = HEALTH_DRILL_FAULTS[r.fault as HealthDrillFault]?.about ?? '';
  const extra = [...(r.text ? r.text.split('\n') : [])];
  for (const i of r.incidents ?? []) extra.push(`Incident for ${i.service} (${i.severity}): ${i.outcome}${i.incidentId ? ` — ${i.incidentId}` : ''}`);
  return renderChecksDrill(r, [`Health-check drill: cluster ${r.cluster}, fault "${r.fault}" — ${about}`, 'EventBridge Scheduler (daily) → StartExecution health-check'], extra);
}

/** `incident-flows drill health-check [--fault …] [--service NAME] [--scenario FILE] [--json]`: 0 when the report shows what the fault calls for. */
export async function healthDrillCommand(values: { service?: string | undefined; fault?: string | undefined; scenario?: string | undefined; approval?: string | undefined; json?: boolean | undefined }, extra: string[]): Promise<number> {
  if (extra.length > 0) throw new ScenarioError(`unexpected argument "${extra[0]!.slice(0, 60)}" after "drill health-check" — options start with --`);
  if (values.approval !== undefined) throw new ScenarioError('--approval applies to drill p0 and p1 only: the health check asks nobody');
  const report = await runHealthDrill(planHealthDrill({ scenarioFile: values.scenario, service: values.service, fault: values.fault }));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderHealthDrill(report)}\n`);
  return report.passed ? 0 : 1;
}
