import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { documentClient } from '#commons/clients';
import { Sandbox } from '../sandbox/index.ts';
import { parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../sandbox/scenario.ts';
import { playHuman, SLACK_USERS } from '../sandbox/slack.ts';
import { checkSimulationSize, loadDrillScenario } from './drill-scenario.ts';
import { drillServiceOf, readExecution, renderChecksDrill, type ChecksDrillReport } from './drill-report.ts';

/** What `drill deploy` deploys, and what the deploy workflow must make of it. */
export const DEPLOY_DRILL_FAULTS = {
  none: { tag: 'v3', kind: undefined, expected: 'deployed', about: 'a good image: approved, stable, verified, baked' },
  'bad-image': { tag: 'v3-bad', kind: 'bad-image', expected: 'rolled-back', about: 'the image cannot be pulled (CannotPullContainerError): its tasks never start' },
  'failing-health': { tag: 'v3-sick', kind: 'failing-health-check', expected: 'rolled-back', about: 'the tasks run but fail their health checks and the health URL' },
  'alarm-during-bake': { tag: 'v3-5xx', kind: 'raises-alarm', expected: 'rolled-back', about: 'the tasks are healthy, but 2 minutes in the service\'s 5xx alarm fires' },
} as const;
export type DeployDrillFault = keyof typeof DEPLOY_DRILL_FAULTS;

export const ROLLBACK_DRILL_MODES = {
  quick: { about: 'back to the revision before the last deployment (its backup), as the runbook\'s Quick Rollback' },
  full: { about: 'the pre-deployment backup restored: revision, desired count (someone scaled to 3 after the deploy) and deployment configuration' },
} as const;
export type RollbackDrillMode = keyof typeof ROLLBACK_DRILL_MODES;

export interface DeploymentDrillPlan {
  workflow: 'deploy' | 'rollback';
  scenario: Scenario;
  service: string;
  fault: string;
  image: string;
  expected: string;
  approval: 'approve' | 'reject';
  mode?: RollbackDrillMode;
  bakeMinutes: number;
}

export interface DeploymentDrillReport extends ChecksDrillReport {
  revisionBefore: string;
  revisionAfter: string;
  imageAfter: string | undefined;
  /** What failed, when the deployment was rolled back. */
  failure?: string;
  /** Seconds from the new revision's first sign of failure (a failed task, a failing health check, the alarm) to the rollback's start. */
  failureToRollbackSeconds?: number;
  approvalsAsked: number;
}

export function planDeploymentDrill(workflow: 'deploy' | 'rollback', options: { scenarioFile?: string | undefined; service?: string | undefined; fault?: string | undefined; mode?: string | undefined; approval?: string | undefined }): DeploymentDrillPlan {
  const base = options.scenarioFile ? loadDrillScenario(options.scenarioFile) : parseScenario({});
  const service = drillServiceOf(base, options.service);
  const family = base.services.find((s) => s.name === service)?.family ?? service;
  const approval = options.approval ?? 'approve';
  if (approval !== 'approve' && approval !== 'reject') throw new ScenarioError(`--approval "${approval}" — use approve or reject (the drill plays the on-call engineer's click)`);
  const { serviceFaults, apiFaults, eventFaults, ...rest } = base;
  const imageOf = (tag: string) => `${base.accountId}.dkr.ecr.${base.region}.amazonaws.com/${family}:${tag}`;
  if (workflow === 'rollback') {
    if (options.fault !== undefined) throw new ScenarioError('--fault applies to drill deploy; drill rollback takes --mode quick|full');
    const mode = (options.mode ?? 'quick') as RollbackDrillMode;
    if (!(mode in ROLLBACK_DRILL_MODES)) throw new ScenarioError(`--mode "${options.mode}" — use quick or full`);
    const scenario = checkSimulationSize(parseScenario({ ...rest, leadSeconds: 0, faults: [...apiFaults, ...eventFaults, ...serviceFaults.filter((f) => f.service !== service)] }));
    return { workflow, scenario, service, fault: `mode-${mode}`, image: imageOf('v3'), expected: approval === 'reject' ? 'rejected' : 'rolled-back', approval, mode, bakeMinutes: 0 };
  }
  if (options.mode !== undefined) throw new ScenarioError('--mode applies to drill rollback');
  if (options.fault !== undefined && !(options.fault in DEPLOY_DRILL_FAULTS)) {
    throw new ScenarioError(`--fault "${options.fault}" is not a deploy drill fault — use one of: ${Object.keys(DEPLOY_DRILL_FAULTS).join(', ')}`);
  }
  const fault = (options.fault ?? 'bad-image') as DeployDrillFault;
  const spec = DEPLOY_DRILL_FAULTS[fault];
  const input: ScenarioInput = {
    ...rest,
    leadSeconds: 0,
    faults: [...apiFaults, ...eventFaults, ...serviceFaults.filter((f) => f.service !== service)],
    ...(spec.kind ? { images: [{ service, image: imageOf(spec.tag), kind: spec.kind }] } : {}),
  };
  return { workflow, scenario: checkSimulationSize(parseScenario(input)), service, fault, image: imageOf(spec.tag), expected: approval === 'reject' ? 'rejected' : spec.expected, approval, bakeMinutes: 10 };
}

/**
 * One deployment drill on a fresh sandbox. `deploy`: the pipeline hands an image to the deploy
 * workflow (production: the on-call engineer approves in Slack, played with a signed click); the
 * image's fault plays out and the workflow must end as the fault calls for, the service on a known
 * revision at its desired count. `rollback`: a good deploy first (staging, no bake), then the
 * rollback workflow in the mode asked.
 */
export async function runDeploymentDrill(plan: DeploymentDrillPlan): Promise<DeploymentDrillReport> {
  const wallStart = performance.now();
  // AWS's latencies (sandbox/latency.ts): the figures are what the workflow would take on AWS.
  const sandbox = await Sandbox.start(plan.scenario, { latency: 'aws' });
  try {
    const sfn = new SFNClient(sandbox.clientOptions());
    const start = async (workflow: string, input: Record<string, unknown>) =>
      (await sfn.send(new StartExecutionCommand({ stateMachineArn: sandbox.stateMachineArn(workflow), input: JSON.stringify(input) }))).executionArn!;
    if (plan.workflow === 'rollback') {
      const first = await start('deploy', { service: plan.service, image: plan.image, environment: 'staging', bakeMinutes: 0, reason: 'drill: the release before the rollback', trigger: { kind: 'cli', by: 'drill' } });
      await sandbox.sfn.wait(first);
      if (plan.mode === 'full') {
        const { ECSClient, UpdateServiceCommand } = await import('@aws-sdk/client-ecs');
        await new ECSClient(sandbox.clientOptions()).send(new UpdateServiceCommand({ cluster: plan.scenario.cluster, service: plan.service, desiredCount: 3 }));
        await sandbox.clock.sleep(120);
      }
    }
    const snapshot = () => sandbox.fleet.snapshot(plan.service);
    const revisionBefore = shortRevision(snapshot()?.taskDefinition);
    const run = { sandbox, wallStart, started: sandbox.clock.nowMs(), service: plan.service, desiredBefore: snapshot()?.desiredCount ?? 0 };
    const firstFailure = watchFirstFailure(sandbox, plan.service);
    let asked = 0;
    const human = playHuman(sandbox, { dynamo: documentClient(sandbox.clientOptions()), table: 'incident-flows-approvals' }, () => {
      asked += 1;
      return asked === 1 ? { action: plan.approval, user: SLACK_USERS.onCall } : undefined;
    });
    let executionArn: string;
    try {
      executionArn =
        plan.workflow === 'deploy'
          ? await start('deploy', { service: plan.service, image: plan.image, bakeMinutes: plan.bakeMinutes, reason: `drill: release ${plan.image.slice(plan.image.lastIndexOf(':') + 1)}`, trigger: { kind: 'cli', by: 'drill' } })
          : await start('rollback', { service: plan.service, mode: plan.mode, reason: 'drill: the release misbehaves', trigger: { kind: 'cli', by: 'drill' } });
      await sandbox.sfn.wait(executionArn);
      await human.settled();
    } finally {
      human.stop();
    }
    const { output, common } = await readExecution(run, executionArn);
    const outcome = outcomeOf(common.status, common.error, output);
    const after = snapshot();
    const failureInput = lastFailure(common.timeline);
    const rollbackStart = common.timeline.find((e) => e.state === 'Roll back to the previous revision');
    const failedAt = earliest(firstFailure.at(), await alarmFiredAt(sfn, executionArn));
    const stable = (after?.deployments.length ?? 0) === 1 && after?.runningCount === after?.desiredCount;
    const knownRevision = plan.workflow === 'deploy' ? (outcome === 'deployed' ? shortRevision(after?.taskDefinition) !== revisionBefore : shortRevision(after?.taskDefinition) === revisionBefore) : true;
    return {
      workflow: plan.workflow,
      service: plan.service,
      cluster: plan.scenario.cluster,
      fault: plan.fault,
      outcome,
      expectedOutcome: plan.expected,
      passed: outcome === plan.expected && stable && knownRevision,
      alarmName: '',
      ...common,
      revisionBefore,
      revisionAfter: shortRevision(after?.taskDefinition),
      imageAfter: sandbox.fleet.snapshot(plan.service) ? await imageOfRevision(sandbox, after?.taskDefinition) : undefined,
      ...(failureInput ? { failure: failureInput } : {}),
      ...(failedAt !== undefined && rollbackStart ? { failureToRollbackSeconds: Math.round(Date.parse(rollbackStart.at) / 1000 - failedAt / 1000) } : {}),
      approvalsAsked: asked,
    };
  } finally {
    await sandbox.stop();
  }
}

function earliest(...times: (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length ? Math.min(...known) : undefined;
}

/** When the first alarm the bake saw firing went into ALARM (CloudWatch's StateUpdatedTimestamp, as watch-alarms read it). */
async function alarmFiredAt(sfn: SFNClient, executionArn: string): Promise<number | undefined> {
  const { fullHistory } = await import('#commons/execution-history');
  const history = await fullHistory(sfn, executionArn);
  const since = history
    .filter((e) => e.stateExitedEventDetails?.name === 'Watch the alarms while baking')
    .flatMap((e) => ((JSON.parse(e.stateExitedEventDetails!.output ?? '{}') as { bake?: { firing?: { since?: string }[] } }).bake?.firing ?? []).map((f) => (f.since ? Date.parse(f.since) : NaN)))
    .filter((t) => Number.isFinite(t));
  return since.length ? Math.min(...since) : undefined;
}

function outcomeOf(status: string, error: string | undefined, output: Record<string, unknown>): string {
  if (status === 'SUCCEEDED') return String(output.outcome ?? 'succeeded');
  if (error === 'DeploymentRolledBack') return 'rolled-back';
  if (error === 'ApprovalRejected') return 'rejected';
  if (error === 'IncidentEscalated') return 'escalated';
  return `failed${error ? ` (${error})` : ''}`;
}

function shortRevision(arn: string | undefined): string {
  return arn ? arn.slice(arn.lastIndexOf('/') + 1) : 'none';
}

async function imageOfRevision(sandbox: Sandbox, arn: string | undefined): Promise<string | undefined> {
  if (!arn) return undefined;
  const { DescribeTaskDefinitionCommand, ECSClient } = await import('@aws-sdk/client-ecs');
  const out = await new ECSClient(sandbox.clientOptions()).send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
  return out.taskDefinition?.containerDefinitions?.[0]?.image;
}

/** The "Note: …" state the deploy passed on its way to the rollback. */
function lastFailure(timeline: { state: string; detail: string }[]): string | undefined {
  return timeline.filter((e) => e.state.startsWith('Note: ')).at(-1)?.state.slice('Note: '.length);
}

/**
 * The new revision's first sign of failure, as ECS and CloudWatch show it: a task of a revision
 * other than the one running at the start that stopped on its own or turned UNHEALTHY, or one of
 * the service's alarms going into ALARM.
 */
function watchFirstFailure(sandbox: Sandbox, service: string): { at(): number | undefined } {
  const before = sandbox.fleet.snapshot(service)?.taskDefinition;
  let first: number | undefined;
  sandbox.fleet.onEvent((event) => {
    if (first !== undefined || event.detailType !== 'ECS Task State Change') return;
    const d = event.detail as { group?: string; taskDefinitionArn?: string; lastStatus?: string; stopCode?: string; healthStatus?: string };
    if (d.group !== `service:${service}` || d.taskDefinitionArn === before) return;
    if ((d.lastStatus === 'STOPPED' && d.stopCode !== 'ServiceSchedulerInitiated') || d.healthStatus === 'UNHEALTHY') first = event.at;
  });
  return { at: () => first };
}

export function renderDeploymentDrill(r: DeploymentDrillReport, plan: DeploymentDrillPlan): string {
  const header =
    plan.workflow === 'deploy'
      ? [`Deploy drill: ${r.service} in ${r.cluster}, fault "${r.fault}" — ${DEPLOY_DRILL_FAULTS[r.fault as DeployDrillFault]?.about ?? ''}`, `The pipeline hands ${plan.image} to the deploy workflow (production: the on-call engineer is asked in Slack).`]
      : [`Rollback drill: ${r.service} in ${r.cluster}, ${plan.mode} — ${ROLLBACK_DRILL_MODES[plan.mode!].about}`, 'A deploy of v3 ran first; then the rollback workflow, approved in Slack.'];
  const extra = [`Revision: ${r.revisionBefore} before → ${r.revisionAfter} after${r.imageAfter ? ` (${r.imageAfter})` : ''}.`];
  if (r.failure) extra.push(`What failed: ${r.failure}.`);
  if (r.failureToRollbackSeconds !== undefined) extra.push(`First failing sign of the new revision → rollback started: ${r.failureToRollbackSeconds} s.`);
  return renderChecksDrill(r, header, extra);
}

/** `incident-flows drill deploy|rollback`: 0 when the workflow did what the fault (or mode) calls for, 1 otherwise. */
export async function deploymentDrillCommand(
  workflow: 'deploy' | 'rollback',
  values: { service?: string | undefined; fault?: string | undefined; scenario?: string | undefined; approval?: string | undefined; mode?: string | undefined; json?: boolean | undefined },
  extra: string[],
): Promise<number> {
  if (extra.length > 0) throw new ScenarioError(`unexpected argument "${extra[0]!.slice(0, 60)}" after "drill ${workflow}" — options start with --`);
  const plan = planDeploymentDrill(workflow, { scenarioFile: values.scenario, service: values.service, fault: values.fault, mode: values.mode, approval: values.approval });
  const report = await runDeploymentDrill(plan);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderDeploymentDrill(report, plan)}\n`);
  return report.passed ? 0 : 1;
}
