import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeIf } from '#commons/dynamo';
import { reconcilable } from '#safety/restore-points';

/**
 * What a P1 scale-out must give back once the load is gone. Written before the scale-out, in the
 * incidents table where it outlives the execution (the execution ends at recovery; the quiet period
 * is hours), and settled by the reconciler (handlers/reconcile.ts): after `quietMinutes` of load
 * under `belowPercent`, with no incident open for the service, the service — or its scalable
 * target's minimum — goes back to `original`. Never lower than what people or autoscaling chose
 * since: a desired count that is no longer the one P1 set is theirs, and the point is dropped.
 */
export interface ScaleBack {
  pk: string;
  cluster: string;
  service: string;
  /** `desired`: P1 set the desired count; `autoscaling-minimum`: it raised the scalable target's minimum. */
  via: 'desired' | 'autoscaling-minimum';
  /** Desired count (or minimum capacity) before the first scale-out of this episode. */
  original: number;
  /** What P1 set it to (the largest, if several scale-outs happened before a scale-back). */
  scaledTo: number;
  incidentId: string;
  executionArn: string;
  recordedAt: string;
  quietMinutes: number;
  belowPercent: number;
  /** The saturation threshold: memory must stay under it (it does not fall as tasks are added). */
  thresholdPercent: number;
  /** The quiet period is counted from here: the scale-out's recovery, or the last time the load was above `belowPercent`. */
  quietSince: string;
  reconcile: 'scale-back';
}

const key = (cluster: string, service: string) => ({ pk: `SCALEBACK#${cluster}/${service}` });

export class ScaleBacks {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Records the point before a scale-out. A second scale-out before the scale-back keeps the first
   * `original` (the count before the whole episode) and raises `scaledTo`.
   */
  async record(p: Omit<ScaleBack, 'pk' | 'reconcile' | 'quietSince'>): Promise<ScaleBack> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(p.cluster, p.service),
        UpdateExpression:
          'SET #c = :c, #s = :s, #via = if_not_exists(#via, :via), #o = if_not_exists(#o, :o), #to = :to, #i = :i, #e = :e, #at = :at, #q = :q, #b = :b, #th = :th, #qs = :at, #r = :r',
        ExpressionAttributeNames: { '#c': 'cluster', '#s': 'service', '#via': 'via', '#o': 'original', '#to': 'scaledTo', '#i': 'incidentId', '#e': 'executionArn', '#at': 'recordedAt', '#q': 'quietMinutes', '#b': 'belowPercent', '#th': 'thresholdPercent', '#qs': 'quietSince', '#r': 'reconcile' },
        ExpressionAttributeValues: { ':c': p.cluster, ':s': p.service, ':via': p.via, ':o': p.original, ':to': p.scaledTo, ':i': p.incidentId, ':e': p.executionArn, ':at': p.recordedAt, ':q': p.quietMinutes, ':b': p.belowPercent, ':th': p.thresholdPercent, ':r': 'scale-back' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes as ScaleBack;
  }

  async get(cluster: string, service: string): Promise<ScaleBack | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: key(cluster, service), ConsistentRead: true }));
    return out.Item as ScaleBack | undefined;
  }

  pending(): Promise<ScaleBack[]> {
    return reconcilable<ScaleBack>(this.doc, this.table, 'scale-back');
  }

  /** The load was above the lower threshold again: the quiet period starts over. */
  async restartQuiet(cluster: string, service: string, at: Date): Promise<void> {
    await writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(cluster, service),
          UpdateExpression: 'SET #qs = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#qs': 'quietSince' },
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      ),
    );
  }

  /** Puts a claimed point back after its change failed (a throttled call, say): the next run tries again. */
  async reinstate(point: ScaleBack): Promise<void> {
    await writeIf(this.doc.send(new PutCommand({ TableName: this.table, Item: point, ConditionExpression: 'attribute_not_exists(pk)' })));
  }

  /** Done (or no longer ours to do): deleted only if nobody recorded a newer scale-out meanwhile. */
  async settle(point: ScaleBack): Promise<boolean> {
    return writeIf(
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: key(point.cluster, point.service),
          ConditionExpression: '#e = :e AND #to = :to',
          ExpressionAttributeNames: { '#e': 'executionArn', '#to': 'scaledTo' },
          ExpressionAttributeValues: { ':e': point.executionArn, ':to': point.scaledTo },
        }),
      ),
    );
  }
}
