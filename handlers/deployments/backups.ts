import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RevisionState } from './schemas.ts';

/**
 * The runbook's `pre-deployment-backup.json`, kept where it outlives the execution: one item per
 * deployment, and the service's latest. A full rollback restores it; a quick rollback goes back to
 * its revision.
 */
export interface Backup extends RevisionState {
  cluster: string;
  service: string;
  /** The deploy execution's name. */
  deployment: string;
  executionArn: string;
  takenAt: string;
  /** The revision the deploy moves to, once known. */
  newRevision?: string;
}

const key = (cluster: string, service: string, deployment?: string) => ({ pk: `BACKUP#${cluster}/${service}${deployment ? `#${deployment}` : ''}` });

export class Backups {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Writes the backup once per deployment (a retried step keeps the first). */
  async save(backup: Backup): Promise<Backup> {
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: { ...key(backup.cluster, backup.service, backup.deployment), ...backup }, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
    return (await this.get(backup.cluster, backup.service, backup.deployment)) ?? backup;
  }

  /**
   * The deployment is about to change the service: its backup becomes the service's latest. Only
   * then — a deploy rejected or refused before its update is no backup to restore.
   */
  async promote(cluster: string, service: string, deployment: string): Promise<void> {
    const backup = await this.get(cluster, service, deployment);
    if (!backup) throw new Error(`no backup of ${service} for deployment ${deployment}`);
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...key(cluster, service), ...backup } }));
  }

  async noteRevision(cluster: string, service: string, deployment: string, newRevision: string): Promise<void> {
    for (const k of [key(cluster, service, deployment), key(cluster, service)]) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: k,
          UpdateExpression: 'SET newRevision = :rev',
          ConditionExpression: 'deployment = :dep',
          ExpressionAttributeValues: { ':rev': newRevision, ':dep': deployment },
        }),
      ).catch((err: Error) => {
        // "latest" already points at a newer deployment: nothing to note there.
        if (err.name !== 'ConditionalCheckFailedException') throw err;
      });
    }
  }

  /** The deployment's backup, or the service's latest when no deployment is named. */
  async get(cluster: string, service: string, deployment?: string): Promise<Backup | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: key(cluster, service, deployment), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { pk: _pk, ...backup } = out.Item as Backup & { pk: string };
    return backup;
  }
}
