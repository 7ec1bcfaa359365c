import { readFileSync, statSync } from 'node:fs';
import { parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../sandbox/scenario.ts';

/** The faults a drill can inject on its target service, and what the P0 workflow must do about each. */
export const DRILL_FAULTS = {
  none: { faults: [], expected: 'no-action', about: 'a healthy service: the workflow must look and do nothing' },
  'crash-loop': {
    faults: [{ kind: 'crash-loop' }],
    expected: 'recovered',
    about: 'tasks exit seconds after starting; a restart clears it',
  },
  'sticky-crash-loop': {
    faults: [{ kind: 'crash-loop', survivesRestarts: 1 }],
    expected: 'recovered',
    about: 'the crash survives the restart; the forced redeployment clears it',
  },
  'slow-start': {
    faults: [{ kind: 'crash-loop' }, { kind: 'slow-start', slowFactor: 4, survivesRestarts: 'always' }],
    expected: 'recovered',
    about: 'crash-looping tasks whose replacements take four times longer to start',
  },
  'bad-image': {
    faults: [{ kind: 'bad-image' }],
    expected: 'escalated',
    about: 'the image cannot be pulled; no restart helps, people must roll back',
  },
  'bad-deploy': {
    faults: [],
    badDeploy: true,
    expected: 'rolled-back',
    about: 'deploy-bot deployed a crashing revision 6 minutes before the alarm; the previous one ran stable: P0 rolls back',
  },
} as const satisfies Record<string, FaultSpec>;

/** The faults a P1 drill can inject: load, not breakage. */
export const P1_DRILL_FAULTS = {
  none: { faults: [], expected: 'no-action', about: 'normal load: P1 must read the metrics and do nothing' },
  'cpu-saturation': {
    faults: [{ kind: 'cpu-saturation', loadFactor: 2.5 }],
    expected: 'recovered',
    about: '2.5× the usual work: CPU ~87 % on 2 tasks; scaling out 2 → 4 brings it under 70 %',
  },
  'cpu-overload': {
    faults: [{ kind: 'cpu-saturation', loadFactor: 10 }],
    expected: 'escalated-to-p0',
    about: '10× the usual work: 4 tasks are still saturated, so the incident becomes a P0',
  },
} as const satisfies Record<string, { faults: readonly Record<string, unknown>[]; expected: string; about: string }>;

/** What can be drilled, and how: its state machine, its faults, the alarm a team would set for it. */
export const DRILL_WORKFLOWS = {
  p0: { workflow: 'p0-system-down', faults: DRILL_FAULTS as Record<string, FaultSpec>, defaultFault: 'crash-loop', alarmName: (s: string) => `${s}-unhealthy-hosts`, reason: (s: string) => `Threshold Crossed: ${s} has fewer healthy hosts than desired` },
  p1: { workflow: 'p1-degraded', faults: P1_DRILL_FAULTS as Record<string, FaultSpec>, defaultFault: 'cpu-saturation', alarmName: (s: string) => `${s}-p1-cpu-high`, reason: (s: string) => `Threshold Crossed: ${s} CPUUtilization above 70 % for 3 datapoints` },
} as const;
export type DrillWorkflow = keyof typeof DRILL_WORKFLOWS;
interface FaultSpec {
  faults: readonly Record<string, unknown>[];
  expected: string;
  about: string;
  /** A deployment minutes before the alarm brought in a revision whose image crash-loops (issue 12). */
  badDeploy?: boolean;
}

/** Minutes before the scenario starts that deploy-bot's bad deployment happened. */
const BAD_DEPLOY_MINUTES_AGO = 6;

export type DrillFault = keyof typeof DRILL_FAULTS;
export type P1DrillFault = keyof typeof P1_DRILL_FAULTS;
export type Outcome = 'recovered' | 'rolled-back' | 'no-action' | 'escalated' | 'escalated-to-p0' | 'rejected' | 'rejected-input' | 'failed';

/**
 * `--approval`: the drill runs as if the remediation budget were spent (the start input asks for
 * approval, as the alarm trigger does), so a person must approve the restart; the drill plays them.
 */
export const DRILL_APPROVALS = {
  approve: { about: 'the on-call engineer approves in Slack' },
  reject: { about: 'the on-call engineer rejects in Slack: nothing may change' },
  none: { about: 'nobody answers on any tier: the workflow must fail closed, nothing changed' },
  late: { about: 'the on-call engineer stays silent; after 15 min the team lead is asked and approves' },
} as const;
export type DrillApproval = keyof typeof DRILL_APPROVALS;

export interface DrillPlan {
  /** Which procedure is drilled (p0 by default). */
  workflow?: DrillWorkflow;
  scenario: Scenario;
  service: string;
  fault: DrillFault | P1DrillFault | 'scenario';
  expected: Outcome;
  /** Who answers the approval request, when the drill asks for one. */
  approval?: DrillApproval;
}

export interface DrillPlanOptions {
  workflow?: DrillWorkflow;
  scenarioFile?: string;
  service?: string;
  fault?: string;
  approval?: string;
}

/** Resolves the drill's scenario, target service and expected outcome from the command line. */
export function planDrill(options: DrillPlanOptions): DrillPlan {
  if (options.approval !== undefined && !(options.approval in DRILL_APPROVALS)) {
    throw new ScenarioError(`--approval "${options.approval}" is not a drill approval — use one of: ${Object.keys(DRILL_APPROVALS).join(', ')}`);
  }
  const plan = planFault(options);
  if (options.approval === undefined) return plan;
  const approval = options.approval as DrillApproval;
  return { ...plan, approval, expected: expectedWithApproval(plan.expected, approval) };
}

/** What a person's answer does to the outcome: a healthy service asks nobody; no "yes", no restart. */
export function expectedWithApproval(expected: Outcome, approval: DrillApproval): Outcome {
  if (expected === 'no-action') return expected;
  if (approval === 'reject') return 'rejected';
  if (approval === 'none') return 'escalated';
  return expected;
}

function planFault(options: DrillPlanOptions): DrillPlan {
  const workflow = options.workflow ?? 'p0';
  const table = DRILL_WORKFLOWS[workflow].faults;
  if (options.fault !== undefined && !Object.hasOwn(table, options.fault)) {
    throw new ScenarioError(`--fault "${options.fault}" is not a ${workflow} drill fault — use one of: ${Object.keys(table).join(', ')}`);
  }
  const base = options.scenarioFile ? loadDrillScenario(options.scenarioFile) : parseScenario({});
  const service = resolveService(base, options.service);
  if (options.fault === undefined && options.scenarioFile) {
    return { workflow, scenario: base, service, fault: 'scenario', expected: workflow === 'p1' ? expectedP1From(base, service) : expectedFrom(base, service) };
  }
  const fault = (options.fault ?? DRILL_WORKFLOWS[workflow].defaultFault) as DrillFault | P1DrillFault;
  const spec = table[fault]!;
  const input: ScenarioInput = {
    ...scenarioInput(base),
    ...(spec.badDeploy ? badDeployOf(base, service) : {}),
    faults: [
      ...base.apiFaults,
      ...base.eventFaults,
      ...base.serviceFaults.filter((f) => f.service !== service),
      ...spec.faults.map((f) => ({ ...f, service }) as ScenarioInput['faults'] extends (infer F)[] | undefined ? F : never),
    ],
  };
  const scenario = checkSimulationSize(parseScenario(input));
  return { workflow, scenario, service, fault, expected: spec.expected as Outcome };
}

/** P1 on a scenario file: scaling ×2 halves each task's share of the work; under 70 % it recovers. */
export function expectedP1From(scenario: Scenario, service: string): Outcome {
  const fault = scenario.serviceFaults.find((f) => f.service === service && f.kind === 'cpu-saturation');
  const spec = scenario.services.find((s) => s.name === service);
  if (!fault || !spec) return 'no-action';
  return (spec.cpuPercent * (fault.loadFactor ?? 2.5)) / 2 < 70 ? 'recovered' : 'escalated-to-p0';
}

function resolveService(scenario: Scenario, wanted: string | undefined): string {
  const names = scenario.services.map((s) => s.name);
  if (wanted === undefined) return names.find((n) => n.endsWith('-axon')) ?? names[0]!;
  if (names.includes(wanted)) return wanted;
  const prefixed = `${scenario.project}-${wanted}`;
  if (names.includes(prefixed)) return prefixed;
  throw new ScenarioError(`--service "${wanted}" is not in the scenario (services: ${names.join(', ')})`);
}

/** What a scenario file's own faults call for: the restart budget is one restart and one redeployment. */
export function expectedFrom(scenario: Scenario, service: string): Outcome {
  // A slow start delays recovery but never prevents it; crashes and bad images do until cleared.
  // A flood of WARN lines (P2's) leaves the service running: nothing for P0 to restart.
  const faults = scenario.serviceFaults.filter((f) => f.service === service && f.kind !== 'slow-start' && f.kind !== 'warn-flood');
  if (faults.length === 0) return 'no-action';
  const survives = faults.map((f) => f.survivesRestarts ?? (f.kind === 'bad-image' ? 'always' : 0));
  return survives.some((s) => s === 'always' || s >= 2) ? 'escalated' : 'recovered';
}

/**
 * The bad deploy: deploy-bot's UpdateService minutes ago named the current revision, whose image
 * crash-loops; the revision before it ran stable (the service's events say so).
 */
function badDeployOf(base: Scenario, service: string): Pick<ScenarioInput, 'cloudTrail' | 'images'> {
  const spec = base.services.find((s) => s.name === service)!;
  if (spec.previousRevisions === 0) throw new ScenarioError(`--fault bad-deploy needs a revision before the current one: ${service} has previousRevisions 0 in the scenario`);
  const family = spec.family ?? spec.name;
  const image = spec.image ?? `${base.accountId}.dkr.ecr.${base.region}.amazonaws.com/${family}:v${spec.previousRevisions + 1}`;
  return {
    cloudTrail: [...base.cloudTrail.filter((c) => c.service !== service), { eventName: 'UpdateService', service, minutesAgo: BAD_DEPLOY_MINUTES_AGO, username: 'deploy-bot' }],
    images: [...(base.images ?? []).filter((i) => i.image !== image), { service, image, kind: 'crash-loop' }],
  };
}

function scenarioInput(s: Scenario): ScenarioInput {
  const { serviceFaults: _sf, apiFaults: _af, eventFaults: _ef, ...rest } = s;
  return rest;
}

/** A scenario file bigger than this is not a scenario someone wrote (the examples are under 1 KB). */
export const MAX_SCENARIO_FILE_BYTES = 1024 * 1024;
/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5 … */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** The fleet simulator's work grows with the square of the task count, times the simulated time. */
export const MAX_SIMULATED_TASKS = 200;
/** Every service is synthesized into the CDK app (IAM, settings): the storm drills up to 50. */
export const MAX_SCENARIO_SERVICES = 50;
export const MAX_SIMULATION_LOAD = 10_000_000;

/**
 * Reads and checks a scenario file for the drill or `incident-flows sandbox`: every way it can be
 * wrong is a ScenarioError naming the file or the field (exit 2), never a crash or a simulation
 * that would run for hours.
 */
export function loadDrillScenario(path: string): Scenario {
  let raw: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ScenarioError(`cannot read scenario file ${path}: not a regular file`);
    if (stat.size > MAX_SCENARIO_FILE_BYTES) throw new ScenarioError(`scenario file ${path} is ${stat.size} bytes, over the ${MAX_SCENARIO_FILE_BYTES}-byte limit for a scenario`);
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(`cannot read scenario file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    // A byte-order mark is how some editors start a UTF-8 file; JSON.parse does not skip it.
    json = JSON.parse(raw.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ScenarioError(`scenario file ${path} is not JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ScenarioError(`scenario file ${path} must hold a JSON object, e.g. {"services": [{"name": "ledger"}]}; it holds ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  }
  return checkSimulationSize(parseScenario(json));
}

/**
 * What the schema cannot say: a region the AWS SDK accepts, and a fleet the simulator can play
 * out in seconds. 1,000 crash-looping tasks with the default three minutes of lead time took the
 * sandbox more than five minutes and gigabytes of memory, with the event loop blocked.
 */
export function checkSimulationSize(scenario: Scenario): Scenario {
  if (!REGION.test(scenario.region)) {
    throw new ScenarioError(`scenario field "region": "${scenario.region.slice(0, 40)}" is not an AWS region name, e.g. "us-east-1"`);
  }
  if (scenario.services.length > MAX_SCENARIO_SERVICES) {
    throw new ScenarioError(`scenario field "services": ${scenario.services.length} services, over the ${MAX_SCENARIO_SERVICES} a sandbox runs (each is synthesized into the stack)`);
  }
  const tasks = scenario.services.reduce((n, s) => n + s.desiredCount, 0);
  if (tasks > MAX_SIMULATED_TASKS) {
    throw new ScenarioError(`scenario field "services": ${tasks} desired tasks in all, over the ${MAX_SIMULATED_TASKS} the sandbox simulates — lower services[].desiredCount`);
  }
  const load = tasks * tasks * scenario.leadSeconds;
  if (load > MAX_SIMULATION_LOAD) {
    const lead = Math.floor(MAX_SIMULATION_LOAD / (tasks * tasks));
    throw new ScenarioError(
      `scenario field "leadSeconds": ${scenario.leadSeconds} s of lead time with ${tasks} tasks would take the simulator too long — at most ${lead} s with ${tasks} tasks (the cost grows with the square of the task count)`,
    );
  }
  return scenario;
}
