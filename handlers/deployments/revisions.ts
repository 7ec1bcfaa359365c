import {
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { InvalidInputError } from '#commons/errors';

/** family and revision of "family:revision" or a task definition ARN. */
export function parseRevision(ref: string): { family: string; revision: number } {
  const short = ref.slice(ref.lastIndexOf('/') + 1);
  const [family = '', revision = ''] = short.split(':');
  return { family, revision: Number(revision) };
}

/** The revision, with ECS's "not found" (a ClientException) turned into an error that names the field. */
export async function describeRevision(ecs: ECSClient, ref: string, field: string): Promise<{ definition: TaskDefinition; tags: Tag[] }> {
  try {
    const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: ref, include: ['TAGS'] }));
    if (!out.taskDefinition?.taskDefinitionArn) throw new InvalidInputError(`field "${field}": ECS describes no task definition "${ref}"`);
    return { definition: out.taskDefinition, tags: out.tags ?? [] };
  } catch (err) {
    if ((err as Error).name === 'ClientException') {
      throw new InvalidInputError(`field "${field}": no task definition "${ref}" in this account and region — check the family and revision (aws ecs list-task-definitions --family-prefix …)`);
    }
    throw err;
  }
}

/** The image of the container a deployment changes: the named one, else the only essential one. */
export function containerOf(definition: TaskDefinition, name: string | undefined): { name: string; image: string } {
  const containers = definition.containerDefinitions ?? [];
  if (name !== undefined) {
    const found = containers.find((c) => c.name === name);
    if (!found) throw new InvalidInputError(`field "container": ${definition.family}:${definition.revision} has no container "${name}" (has: ${containers.map((c) => c.name).join(', ')})`);
    return { name, image: found.image ?? '' };
  }
  const essential = containers.filter((c) => c.essential !== false);
  if (essential.length !== 1) {
    throw new InvalidInputError(
      `field "container": ${definition.family}:${definition.revision} has ${essential.length} essential containers (${essential.map((c) => c.name).join(', ')}) — name the one that gets the new image`,
    );
  }
  return { name: essential[0]!.name ?? '', image: essential[0]!.image ?? '' };
}

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not take (ECS API Reference, TaskDefinition). */
const READ_ONLY = ['taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities', 'registeredAt', 'registeredBy', 'deregisteredAt'] as const;

/**
 * The registration of a new revision: the current one as it is, with one container's image
 * replaced — the runbook's `register-task-definition --cli-input-json` with the new tag.
 */
export function nextRevision(definition: TaskDefinition, tags: Tag[], container: string, image: string): RegisterTaskDefinitionCommandInput {
  const copy: Record<string, unknown> = { ...definition };
  for (const field of READ_ONLY) delete copy[field];
  const containerDefinitions = (definition.containerDefinitions ?? []).map((c) => (c.name === container ? { ...c, image } : c));
  return { ...(copy as unknown as RegisterTaskDefinitionCommandInput), containerDefinitions, ...(tags.length ? { tags } : {}) };
}

/**
 * The newest ACTIVE revision of the family below `below` — the runbook's Quick Rollback
 * (`list-task-definitions --family-prefix … --sort DESC`), but relative to what the service runs,
 * so a revision registered and never deployed is not taken for "the previous one".
 * ListTaskDefinitions' familyPrefix matches whole family names; INACTIVE revisions are not listed.
 */
export async function previousActiveRevision(ecs: ECSClient, family: string, below: number): Promise<string | undefined> {
  let nextToken: string | undefined;
  for (let page = 0; page < 20; page++) {
    const out = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
    for (const arn of out.taskDefinitionArns ?? []) {
      const parsed = parseRevision(arn);
      if (parsed.family === family && parsed.revision < below) return arn;
    }
    nextToken = out.nextToken;
    if (!nextToken) return undefined;
  }
  return undefined;
}
