import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { documentClient } from '#commons/clients';
import { Backups } from '#deployments/backups';
import { playHuman, slackOf, type Click, type RecordedMessage } from '../../sandbox/slack.ts';
import type { Sandbox } from '../../sandbox/index.ts';
import { runWorkflow, type ExecutionResult } from '../support/p0.ts';

export const SERVICE = 'acme-axon';
export const APPROVALS_TABLE = 'incident-flows-approvals';

/** The image URI the sandbox gives revision `rev` of a service's family. */
export function imageOf(sandbox: Sandbox, rev: string | number, family = SERVICE): string {
  return `${sandbox.scenario.accountId}.dkr.ecr.${sandbox.scenario.region}.amazonaws.com/${family}:${typeof rev === 'number' ? `v${rev}` : rev}`;
}

export interface ServiceState {
  taskDefinition: string;
  revision: number;
  image: string;
  desired: number;
  running: number;
  deployments: number;
  rolloutState: string | undefined;
}

/** What the service runs, read through the real ECS client. */
export async function serviceState(sandbox: Sandbox, service = SERVICE): Promise<ServiceState> {
  const ecs = new ECSClient(sandbox.clientOptions());
  const s = (await ecs.send(new DescribeServicesCommand({ cluster: sandbox.scenario.cluster, services: [service] }))).services![0]!;
  const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: s.taskDefinition! }))).taskDefinition!;
  return {
    taskDefinition: s.taskDefinition!,
    revision: td.revision!,
    image: td.containerDefinitions![0]!.image!,
    desired: s.desiredCount ?? -1,
    running: s.runningCount ?? -1,
    deployments: s.deployments?.length ?? 0,
    rolloutState: s.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState,
  };
}

export async function activeRevisions(sandbox: Sandbox, family = SERVICE): Promise<string[]> {
  const ecs = new ECSClient(sandbox.clientOptions());
  const out = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'ASC' }));
  return (out.taskDefinitionArns ?? []).map((arn) => arn.slice(arn.lastIndexOf('/') + 1));
}

export function backups(sandbox: Sandbox): Backups {
  return new Backups(documentClient(sandbox.clientOptions()), 'incident-flows-incidents');
}

export interface PeopleRun {
  run: ExecutionResult;
  messages: RecordedMessage[];
}

/** Runs a workflow while `decide` plays the people who receive its approval requests (none: nobody answers). */
export async function runWithPeople(
  sandbox: Sandbox,
  workflow: string,
  input: unknown,
  decide: (index: number, message: RecordedMessage) => Omit<Click, 'approvalId'> | undefined = () => undefined,
): Promise<PeopleRun> {
  const human = playHuman(sandbox, { dynamo: documentClient(sandbox.clientOptions()), table: APPROVALS_TABLE }, decide);
  try {
    const run = await runWorkflow(sandbox, workflow, input);
    await human.settled();
    await slackOf(sandbox).deliveries();
    return { run, messages: slackOf(sandbox).messages };
  } finally {
    human.stop();
  }
}
