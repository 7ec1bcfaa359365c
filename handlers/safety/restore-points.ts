import { randomUUID } from 'node:crypto';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeIf } from '#commons/dynamo';
import { describeService } from '#commons/ecs';
import type { Logger } from '#commons/logger';
import type { Pager } from '#commons/paging';

/**
 * The invariant "a service is never left with fewer desired tasks than before the incident" has to
 * hold on endings that run no Catch: StopExecution and the execution's own timeout (Step Functions
 * Developer Guide, "Error handling": a Catch handles task errors, not the execution stopping). So
 * before its first change, a restart writes the desired count to come back to here, in the
 * incidents table, where it outlives the execution; every ending settles it — record-incident when
 * the execution's end is delivered, the reconciler on a schedule when that event is lost
 * (EventBridge delivers Step Functions status changes best effort).
 */
export interface RestorePoint {
  pk: string;
  cluster: string;
  service: string;
  /** The largest desired count recorded before a change; never lowered while the point is pending. */
  desiredCount: number;
  recordedAt: string;
  /** Executions that may still change the service. Settled when none of them is running. */
  holders?: Set<string>;
  /** Sparse index key: the reconciler finds what it has to look at without scanning the table. */
  reconcile: 'restore-point';
  /** The last forced deployment asked for, before the call: a retry can tell whether it applied. */
  lastForce?: ForceIntent;
}

export interface ForceIntent {
  execution: string;
  attempt: string;
  /** Epoch ms when the call was about to be made. */
  at: number;
}

export const RECONCILE_INDEX = 'reconcile';

/** The items of one kind the reconciler looks at, from the sparse `reconcile` index (no scan). */
export async function reconcilable<T>(doc: DynamoDBDocumentClient, table: string, kind: string): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: table,
        IndexName: RECONCILE_INDEX,
        KeyConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': 'reconcile' },
        ExpressionAttributeValues: { ':r': kind },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
const key = (cluster: string, service: string) => ({ pk: `RESTORE#${cluster}/${service}` });

export class RestorePoints {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Records `desiredCount` for `executionArn` before its first change and returns the count the
   * service must come back to: the largest recorded while the point is pending, so a retried
   * scale-in that reads 0, or a second execution that starts mid-restart, never lowers it.
   */
  async record(p: { cluster: string; service: string; desiredCount: number; executionArn: string; at: Date }): Promise<number> {
    const base = key(p.cluster, p.service);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: base,
        UpdateExpression:
          'SET #c = if_not_exists(#c, :c), #s = if_not_exists(#s, :s), #at = if_not_exists(#at, :at), #n = if_not_exists(#n, :n), #r = :r ADD #h :h',
        ExpressionAttributeNames: { '#c': 'cluster', '#s': 'service', '#at': 'recordedAt', '#n': 'desiredCount', '#r': 'reconcile', '#h': 'holders' },
        ExpressionAttributeValues: { ':c': p.cluster, ':s': p.service, ':at': p.at.toISOString(), ':n': p.desiredCount, ':r': 'restore-point', ':h': new Set([p.executionArn]) },
      }),
    );
    await writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: base,
          UpdateExpression: 'SET #n = :n',
          ConditionExpression: '#n < :n',
          ExpressionAttributeNames: { '#n': 'desiredCount' },
          ExpressionAttributeValues: { ':n': p.desiredCount },
        }),
      ),
    );
    return (await this.get(p.cluster, p.service))?.desiredCount ?? p.desiredCount;
  }

  /** Notes a forced deployment about to be asked for (UpdateService has no idempotency token). */
  async noteForce(cluster: string, service: string, intent: ForceIntent): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(cluster, service),
        UpdateExpression: 'SET #f = :f',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#f': 'lastForce' },
        ExpressionAttributeValues: { ':f': intent },
      }),
    );
  }

  async get(cluster: string, service: string): Promise<RestorePoint | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: key(cluster, service), ConsistentRead: true }));
    return out.Item as RestorePoint | undefined;
  }

  /** Every pending point (the sparse index holds only those). */
  pending(): Promise<RestorePoint[]> {
    return reconcilable<RestorePoint>(this.doc, this.table, 'restore-point');
  }

  /**
   * A short lease on settling the point, so two settlers at once (the reconciler and a late end
   * event, or two overlapping reconciler runs) restore and page once. It expires by itself if its
   * holder dies mid-way, and the next settler takes over.
   */
  async lease(cluster: string, service: string, by: string, now: Date, seconds = 60): Promise<boolean> {
    return writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(cluster, service),
          UpdateExpression: 'SET #by = :by, #until = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#until) OR #until < :now)',
          ExpressionAttributeNames: { '#by': 'settlingBy', '#until': 'settlingUntil' },
          ExpressionAttributeValues: { ':by': by, ':until': now.getTime() + seconds * 1000, ':now': now.getTime() },
        }),
      ),
    );
  }

  /**
   * Gives the settling lease up early (the settler failed), so the next settler need not wait it
   * out; true the first time a settlement of this point failed — page once, not every retry.
   */
  async failedSettling(cluster: string, service: string, by: string, now: Date): Promise<boolean> {
    await writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(cluster, service),
          UpdateExpression: 'REMOVE #by, #until',
          ConditionExpression: '#by = :by',
          ExpressionAttributeNames: { '#by': 'settlingBy', '#until': 'settlingUntil' },
          ExpressionAttributeValues: { ':by': by },
        }),
      ),
    );
    return writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(cluster, service),
          UpdateExpression: 'SET #f = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#f)',
          ExpressionAttributeNames: { '#f': 'settlingFailedAt' },
          ExpressionAttributeValues: { ':at': now.toISOString() },
        }),
      ),
    );
  }

  /** This execution no longer holds the point; the last holder out deletes it. */
  async release(cluster: string, service: string, executionArn: string): Promise<void> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(cluster, service),
        UpdateExpression: 'DELETE #h :h REMOVE #by, #until',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#h': 'holders', '#by': 'settlingBy', '#until': 'settlingUntil' },
        ExpressionAttributeValues: { ':h': new Set([executionArn]) },
        ReturnValues: 'ALL_NEW',
      }),
    ).catch((err: Error) => {
      if (err.name === 'ConditionalCheckFailedException') return undefined;
      throw err;
    });
    const left = (out?.Attributes as RestorePoint | undefined)?.holders;
    if (out && (!left || left.size === 0)) {
      await writeIf(
        this.doc.send(
          new DeleteCommand({ TableName: this.table, Key: key(cluster, service), ConditionExpression: 'attribute_not_exists(#h)', ExpressionAttributeNames: { '#h': 'holders' } }),
        ),
      );
    }
  }
}

export interface SettleDeps {
  ecs: ECSClient;
  points: RestorePoints;
  pager: Pager;
  log: Logger;
  clock: { now(): Date };
}

export interface Settlement {
  /** False when another settler holds the lease: it does the work. */
  settled: boolean;
  restored: boolean;
  from: number;
  to: number;
}

/**
 * An execution holding the point has ended: put the desired count back if the service is below it
 * (the execution was stopped or timed out mid-restart, or its fail-safe failed) and page, then let
 * the point go. Safe to repeat; it never lowers a count someone raised meanwhile.
 */
export async function settleRestorePoint(deps: SettleDeps, point: RestorePoint, executionArn: string, ending: string): Promise<Settlement> {
  const lease = randomUUID();
  if (!(await deps.points.lease(point.cluster, point.service, lease, deps.clock.now()))) {
    return { settled: false, restored: false, from: point.desiredCount, to: point.desiredCount };
  }
  let current: number | undefined;
  try {
    const service = await describeService(deps.ecs, point.cluster, point.service);
    current = service.desiredCount ?? 0;
    const restored = current < point.desiredCount;
    if (restored) {
      await deps.ecs.send(new UpdateServiceCommand({ cluster: point.cluster, service: point.service, desiredCount: point.desiredCount }));
      deps.log.warn('desired count restored after the execution ended', { service: point.service, from: current, to: point.desiredCount, executionArn, ending });
      await deps.pager.page({
        summary: `${point.service}: desired count restored ${current} -> ${point.desiredCount} (stopped mid-restart)`,
        service: point.service,
        cluster: point.cluster,
        executionArn,
        details:
          `The execution ${executionArn} ended ${ending} while ${point.service} was below the desired count recorded before the restart ` +
          `(${current} of ${point.desiredCount}). incident-flows set it back to ${point.desiredCount}. Check that the service is healthy: the incident was not resolved by automation.`,
        dedupKey: `restore:${point.pk}:${point.recordedAt}`,
      });
    }
    await deps.points.release(point.cluster, point.service, executionArn);
    return { settled: true, restored, from: current, to: restored ? point.desiredCount : current };
  } catch (err) {
    // The one ending a person must hear about at once: the service may be below its desired count
    // and nothing automatic has put it back. The point stays (the reconciler retries every 5
    // minutes, quietly: one page per point, then the "restored" page when it works).
    const first = await deps.points.failedSettling(point.cluster, point.service, lease, deps.clock.now()).catch(() => true);
    const seen = current === undefined ? 'unknown' : String(current);
    deps.log.error('settling the restore point failed', { service: point.service, executionArn, error: (err as Error).message });
    if (first) {
      await deps.pager
        .page({
          summary: `${point.service}: desired count could NOT be restored to ${point.desiredCount} — check NOW`,
          service: point.service,
          cluster: point.cluster,
          executionArn,
          details:
            `The execution ${executionArn} ended ${ending}. Putting ${point.service} back to its desired count ${point.desiredCount} failed ` +
            `(${(err as Error).name}: ${(err as Error).message}); its desired count is ${seen}. incident-flows retries every 5 minutes. ` +
            `Check now: aws ecs describe-services --cluster ${point.cluster} --services ${point.service}; to put it back: ` +
            `aws ecs update-service --cluster ${point.cluster} --service ${point.service} --desired-count ${point.desiredCount}`,
          dedupKey: `restore-failed:${point.pk}:${point.recordedAt}`,
        })
        .catch((pageErr: Error) => deps.log.error('paging failed too', { error: pageErr.message }));
    }
    throw err;
  }
}

/** Whether any holder of the point may still change the service. */
export async function anyHolderRunning(sfn: SFNClient, point: RestorePoint): Promise<boolean> {
  for (const executionArn of point.holders ?? []) {
    try {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE') return true;
    } catch (err) {
      if ((err as Error).name !== 'ExecutionDoesNotExist') throw err;
    }
  }
  return false;
}
