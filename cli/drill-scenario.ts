import { loadScenarioFile, parseScenario, ScenarioError, type Scenario, type ScenarioInput } from '../sandbox/scenario.ts';

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
} as const satisfies Record<string, { faults: readonly Record<string, unknown>[]; expected: string; about: string }>;

export type DrillFault = keyof typeof DRILL_FAULTS;
export type Outcome = 'recovered' | 'no-action' | 'escalated' | 'rejected' | 'rejected-input' | 'failed';

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
  scenario: Scenario;
  service: string;
  fault: DrillFault | 'scenario';
  expected: Outcome;
  /** Who answers the approval request, when the drill asks for one. */
  approval?: DrillApproval;
}

export interface DrillPlanOptions {
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
  if (options.fault !== undefined && !(options.fault in DRILL_FAULTS)) {
    throw new ScenarioError(`--fault "${options.fault}" is not a drill fault — use one of: ${Object.keys(DRILL_FAULTS).join(', ')}`);
  }
  const base = options.scenarioFile ? loadScenarioFile(options.scenarioFile) : parseScenario({});
  const service = resolveService(base, options.service);
  if (options.fault === undefined && options.scenarioFile) {
    return { scenario: base, service, fault: 'scenario', expected: expectedFrom(base, service) };
  }
  const fault = (options.fault ?? 'crash-loop') as DrillFault;
  const input: ScenarioInput = {
    ...scenarioInput(base),
    faults: [
      ...base.apiFaults,
      ...base.eventFaults,
      ...base.serviceFaults.filter((f) => f.service !== service),
      ...DRILL_FAULTS[fault].faults.map((f) => ({ ...f, service })),
    ],
  };
  const scenario = parseScenario(input);
  return { scenario, service, fault, expected: DRILL_FAULTS[fault].expected };
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
  const faults = scenario.serviceFaults.filter((f) => f.service === service && f.kind !== 'slow-start');
  if (faults.length === 0) return 'no-action';
  const survives = faults.map((f) => f.survivesRestarts ?? (f.kind === 'bad-image' ? 'always' : 0));
  return survives.some((s) => s === 'always' || s >= 2) ? 'escalated' : 'recovered';
}

function scenarioInput(s: Scenario): ScenarioInput {
  const { serviceFaults: _sf, apiFaults: _af, eventFaults: _ef, ...rest } = s;
  return rest;
}
