/**
 * Named errors. Step Functions Retry and Catch match on `name` (the Lambda errorType),
 * so these names are part of the workflows' API: rename one and the state machines change.
 */
export class IncidentFlowsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The start input or a step's input is wrong; the message names the field and the fix. */
export class InvalidInputError extends IncidentFlowsError {}

export class ClusterNotFoundError extends IncidentFlowsError {}

export class ServiceNotFoundError extends IncidentFlowsError {}

/** The service is not in the configured allow-list, so the workflows may not touch it. */
export class ServiceNotManagedError extends IncidentFlowsError {}

/** Another execution holds the service (one active incident per service): this one changes nothing. */
export class ServiceBusyError extends IncidentFlowsError {}

/** Throttling, 5xx or a network failure talking to AWS: safe to retry with backoff. */
export class TransientAwsError extends IncidentFlowsError {
  constructor(
    message: string,
    readonly causeName: string,
  ) {
    super(message);
  }
}

/** Error names a workflow retries with backoff and jitter. */
export const TRANSIENT_ERRORS = [
  'TransientAwsError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'PriorThrottlingException',
  'LimitExceededException',
]);
const SERVER = new Set(['ServerException', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable', 'ServiceUnavailableException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'TimeoutError', 'RequestTimeout', 'AbortError']);

/** Classifies an AWS SDK v3 error as transient (worth retrying) or not. */
export function isTransientAwsError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (THROTTLING.has(e.name) || SERVER.has(e.name) || NETWORK.has(e.name)) return true;
  if (e.code && NETWORK.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/** A rollback has nowhere known to go: no backup and no earlier ACTIVE revision. Nothing was changed. */
export class NoRollbackTargetError extends IncidentFlowsError {}

/** The service cannot be deployed to by this workflow (e.g. another deployment controller). Nothing was changed. */
export class DeploymentRefusedError extends IncidentFlowsError {}
