import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeIf } from '#commons/dynamo';
import type { WaitPlan } from './bounds.ts';

/**
 * The waits in progress: one item per waiting workflow step, holding its current task token, so
 * an ECS event can release it (ecs-events) and the step's own safety-net poll can too
 * (watch-stability). Releasing is a conditional delete on the token: exactly one of them sends
 * SendTaskSuccess for a token, however many events and polls race.
 */
export interface Watch {
  /** `<cluster>/<service>`: ECS events name the service, so that is the partition. */
  service: string;
  /** `<execution ARN>#<what>`. */
  watchId: string;
  taskToken: string;
  cluster: string;
  serviceName: string;
  /** The deployment the change created, when it created one. */
  deploymentId?: string;
  /** What "stable" means for this wait: tasks serving, or every task stopped (a scale-in). */
  goal: 'serving' | 'stopped';
  sinceMs: number;
  lastProgressMs: number;
  signature: string;
  polls: number;
  plan: WaitPlan;
  /** Epoch seconds; DynamoDB's TTL deletes a watch whose execution vanished. */
  expiresAt: number;
}

export function serviceKey(cluster: string, service: string): string {
  return `${cluster}/${service}`;
}

export class WatchStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(service: string, watchId: string): Promise<Watch | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { service, watchId }, ConsistentRead: true }));
    return out.Item as Watch | undefined;
  }

  put(watch: Watch): Promise<unknown> {
    return this.doc.send(new PutCommand({ TableName: this.table, Item: watch }));
  }

  /** Records progress, only while the watch still holds this token (a release may have won). */
  noteProgress(watch: Pick<Watch, 'service' | 'watchId' | 'taskToken' | 'signature' | 'lastProgressMs'>): Promise<boolean> {
    return writeIf(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { service: watch.service, watchId: watch.watchId },
          UpdateExpression: 'SET #sig = :s, #p = :p',
          ConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#sig': 'signature', '#p': 'lastProgressMs', '#t': 'taskToken' },
          ExpressionAttributeValues: { ':s': watch.signature, ':p': watch.lastProgressMs, ':t': watch.taskToken },
        }),
      ),
    );
  }

  async forService(service: string): Promise<Watch[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'service' },
        ExpressionAttributeValues: { ':s': service },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as Watch[];
  }

  /** True for exactly one caller per token: whoever deletes the watch while it holds that token. */
  claim(service: string, watchId: string, taskToken: string): Promise<boolean> {
    return writeIf(
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { service, watchId },
          ConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 'taskToken' },
          ExpressionAttributeValues: { ':t': taskToken },
        }),
      ),
    );
  }
}
