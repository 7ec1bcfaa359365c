import { AwsServiceError } from '../http.ts';
import type { Body } from './model.ts';

/** Request checks with ECS's exception names and messages. */

export function invalidParameter(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}

export function optionalString(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParameter(`${key} must be a string.`);
  return v;
}

export function requiredString(body: Body, key: string): string {
  const v = optionalString(body, key);
  if (v === undefined || v === '') throw invalidParameter(`${key} must be specified.`);
  return v;
}

export function optionalInteger(body: Body, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`${key} must be an integer.`);
  return v;
}

/**
 * A boolean member. The awsJson protocol deserializes members by their modelled type, so a string
 * or number where a boolean belongs fails before the operation runs: SerializationException, not
 * a truthy guess ("yes" is not true).
 */
export function optionalBoolean(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new AwsServiceError('SerializationException', `${key} must be a boolean (true or false), not ${JSON.stringify(v) ?? typeof v}.`);
  return v;
}

/**
 * "Tasks per service" (the desired count), an Amazon ECS service quota: 5,000 (Amazon ECS endpoints
 * and quotas, AWS General Reference). ECS refuses more with "Desired count exceeds limit."
 */
export const MAX_TASKS_PER_SERVICE = 5000;

/** desiredCount as UpdateService/CreateService take it: an integer from 0 to the tasks-per-service quota. */
export function optionalDesiredCount(body: Body): number | undefined {
  const desired = optionalInteger(body, 'desiredCount');
  if (desired === undefined) return undefined;
  if (desired < 0) throw invalidParameter('Desired count must be greater than or equal to 0.');
  if (desired > MAX_TASKS_PER_SERVICE) throw invalidParameter(`Desired count exceeds limit. The tasks per service quota is ${MAX_TASKS_PER_SERVICE}; ${desired} were requested.`);
  return desired;
}

export function optionalStringList(body: Body, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter(`${key} must be a list of strings.`);
  return v as string[];
}

export interface DeploymentConfigurationInput {
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  circuitBreaker?: { enable: boolean; rollback: boolean };
}

export function deploymentConfiguration(body: Body): DeploymentConfigurationInput {
  const raw = body.deploymentConfiguration;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object') throw invalidParameter('deploymentConfiguration must be an object.');
  const config = raw as Body;
  const minimumHealthyPercent = optionalInteger(config, 'minimumHealthyPercent');
  const maximumPercent = optionalInteger(config, 'maximumPercent');
  if (minimumHealthyPercent !== undefined && (minimumHealthyPercent < 0 || minimumHealthyPercent > 100)) {
    throw invalidParameter('minimumHealthyPercent must be between 0 and 100.');
  }
  if (maximumPercent !== undefined && (maximumPercent < 100 || maximumPercent > 400)) {
    throw invalidParameter('maximumPercent must be between 100 and 400 for a rolling deployment.');
  }
  const breaker = config.deploymentCircuitBreaker;
  let circuitBreaker: DeploymentConfigurationInput['circuitBreaker'];
  if (breaker !== undefined && breaker !== null) {
    const b = breaker as Body;
    if (typeof b !== 'object' || typeof b.enable !== 'boolean' || typeof b.rollback !== 'boolean') {
      throw invalidParameter('deploymentCircuitBreaker must specify enable and rollback as booleans.');
    }
    circuitBreaker = { enable: b.enable, rollback: b.rollback };
  }
  return { minimumHealthyPercent, maximumPercent, circuitBreaker };
}

export function validateContainers(raw: unknown): Body[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidParameter('containerDefinitions must contain at least one container definition.');
  return raw.map((c: unknown) => {
    const def = (c ?? {}) as Body;
    if (typeof def.name !== 'string' || def.name === '') throw new AwsServiceError('ClientException', 'Container.name should not be null or empty.');
    if (typeof def.image !== 'string' || def.image === '') throw new AwsServiceError('ClientException', 'Container.image should not be null or empty.');
    return { essential: true, portMappings: [], environment: [], mountPoints: [], volumesFrom: [], ...def };
  });
}

/** ListTasks / ListTaskDefinitions paging: the token is the offset of the next page. */
export function paginate(items: string[], body: Body, maxPage: number): { page: string[]; nextToken: string | undefined } {
  const max = optionalInteger(body, 'maxResults') ?? maxPage;
  if (max < 1 || max > maxPage) throw invalidParameter(`maxResults must be between 1 and ${maxPage}.`);
  const token = optionalString(body, 'nextToken');
  const from = token === undefined ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
  if (!Number.isInteger(from) || from < 0) throw invalidParameter('Invalid nextToken.');
  const page = items.slice(from, from + max);
  const next = from + max < items.length ? Buffer.from(String(from + max), 'utf8').toString('base64url') : undefined;
  return { page, nextToken: next };
}
