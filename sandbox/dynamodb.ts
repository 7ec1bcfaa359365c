import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * DynamoDB for the sandbox: dynalite's request handler (in-memory LevelDB, real condition
 * expressions) mounted on the sandbox's own port, so one AWS_ENDPOINT_URL serves every API.
 * dynalite has no transactions: TransactWriteItems is emulated on top of it (below) when a client
 * to the sandbox itself is given.
 */
export function dynamoListener(self?: () => DynamoDBClient): Listener {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => { listeners(event: 'request'): Listener[] };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listener = server.listeners('request')[0];
  if (!listener) throw new Error('dynalite exposed no request handler');
  if (!self) return listener;
  const transactions = new TransactionEmulator(self);
  return (req, res) => {
    if (req.headers['x-amz-target'] === 'DynamoDB_20120810.TransactWriteItems') void transactions.handle(req, res);
    else listener(req, res);
  };
}

type TransactItem = {
  Put?: { TableName: string; Item: Record<string, AttributeValue>; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> };
  Update?: { TableName: string; Key: Record<string, AttributeValue>; UpdateExpression: string; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> };
  Delete?: { TableName: string; Key: Record<string, AttributeValue>; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> };
  ConditionCheck?: { TableName: string; Key: Record<string, AttributeValue>; ConditionExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> };
};

/**
 * TransactWriteItems, all or nothing, as DynamoDB documents it: each item's condition is checked,
 * and if any fails none is applied (TransactionCanceledException with a CancellationReason per
 * item). Emulated by applying the items one by one through dynalite — their conditions evaluated
 * by dynalite itself — and putting back what was applied when one fails. Transactions run one at
 * a time; a plain write racing one can see its intermediate state (AWS isolates them).
 */
class TransactionEmulator {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly keyNames = new Map<string, string[]>();

  constructor(private readonly client: () => DynamoDBClient) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { TransactItems?: TransactItem[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { TransactItems?: TransactItem[] };
    } catch {
      return answer(res, 400, { __type: 'com.amazon.coral.service#SerializationException', message: 'request body is not JSON' });
    }
    const items = body.TransactItems ?? [];
    if (items.length === 0 || items.length > 100) {
      return answer(res, 400, { __type: 'com.amazon.coral.validate#ValidationException', message: `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and 100` });
    }
    const run = this.queue.then(() => this.apply(items));
    this.queue = run.catch(() => undefined);
    const outcome = await run.catch((err: Error) => ({ status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: err.message } }));
    answer(res, outcome.status, outcome.body);
  }

  private async apply(items: TransactItem[]): Promise<{ status: number; body: Record<string, unknown> }> {
    const db = this.client();
    const keys: { table: string; key: Record<string, AttributeValue> }[] = [];
    for (const item of items) {
      const k = keyOf(item);
      const names = await this.keyNamesOf(db, k.table);
      keys.push({ table: k.table, key: Object.fromEntries(names.filter((n) => n in k.key).map((n) => [n, k.key[n]!])) });
    }
    const seen = new Set(keys.map((k) => JSON.stringify(k)));
    if (seen.size !== keys.length) {
      return { status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message: 'Transaction request cannot include multiple operations on one item' } };
    }
    const before = await Promise.all(keys.map((k) => db.send(new GetItemCommand({ TableName: k.table, Key: k.key, ConsistentRead: true })).then((o) => o.Item)));
    for (const [i, item] of items.entries()) {
      try {
        await this.applyOne(db, item, before[i]);
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
        for (let j = i - 1; j >= 0; j--) await restore(db, keys[j]!, before[j]);
        const reasons = items.map((_, k) => (k === i ? { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' } : { Code: 'None' }));
        return {
          status: 400,
          body: {
            __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
            message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
            CancellationReasons: reasons,
          },
        };
      }
    }
    return { status: 200, body: {} };
  }

  /** The table's key attributes (DescribeTable), so a Put's item can name its key. */
  private async keyNamesOf(db: DynamoDBClient, table: string): Promise<string[]> {
    const known = this.keyNames.get(table);
    if (known) return known;
    const out = await db.send(new DescribeTableCommand({ TableName: table }));
    const names = (out.Table?.KeySchema ?? []).map((k) => k.AttributeName!).filter(Boolean);
    this.keyNames.set(table, names);
    return names;
  }

  private async applyOne(db: DynamoDBClient, item: TransactItem, old: Record<string, AttributeValue> | undefined): Promise<void> {
    if (item.Put) await db.send(new PutItemCommand(item.Put));
    else if (item.Update) await db.send(new UpdateItemCommand(item.Update));
    else if (item.Delete) await db.send(new DeleteItemCommand(item.Delete));
    else if (item.ConditionCheck) {
      const c = item.ConditionCheck;
      // Checked by a conditional write that changes nothing (the item as it was), undone if it created one.
      await db.send(
        new PutItemCommand({ TableName: c.TableName, Item: old ?? c.Key, ConditionExpression: c.ConditionExpression, ExpressionAttributeNames: c.ExpressionAttributeNames, ExpressionAttributeValues: c.ExpressionAttributeValues }),
      );
      if (!old) await db.send(new DeleteItemCommand({ TableName: c.TableName, Key: c.Key }));
    }
  }
}

function keyOf(item: TransactItem): { table: string; key: Record<string, AttributeValue> } {
  if (item.Put) return { table: item.Put.TableName, key: item.Put.Item };
  const op = item.Update ?? item.Delete ?? item.ConditionCheck;
  if (!op) throw new Error('TransactItems entry has no operation');
  return { table: op.TableName, key: op.Key };
}

/** Puts an item back as it was before the transaction (or removes one the transaction created). */
async function restore(db: DynamoDBClient, k: { table: string; key: Record<string, AttributeValue> }, old: Record<string, AttributeValue> | undefined): Promise<void> {
  if (old) await db.send(new PutItemCommand({ TableName: k.table, Item: old }));
  else await db.send(new DeleteItemCommand({ TableName: k.table, Key: k.key }));
}

function answer(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  const type = typeof body.__type === 'string' ? body.__type.split('#').pop()! : undefined;
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text).toString(), ...(type ? { 'x-amzn-errortype': type } : {}) });
  res.end(text);
}

/** Creates every AWS::DynamoDB::Table of a synthesized template, as CloudFormation would. */
export async function createTablesFromTemplate(template: Record<string, unknown>, client: DynamoDBClient): Promise<string[]> {
  const resources = (template.Resources ?? {}) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const created: string[] = [];
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::DynamoDB::Table' && r.Type !== 'AWS::DynamoDB::GlobalTable') continue;
    const p = r.Properties ?? {};
    const name = typeof p.TableName === 'string' ? p.TableName : logicalId;
    const input: CreateTableCommandInput = {
      TableName: name,
      KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
      AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
      BillingMode: 'PAY_PER_REQUEST',
      ...(p.GlobalSecondaryIndexes
        ? { GlobalSecondaryIndexes: (p.GlobalSecondaryIndexes as Record<string, unknown>[]).map(({ ProvisionedThroughput: _pt, ...gsi }) => gsi) as unknown as CreateTableCommandInput['GlobalSecondaryIndexes'] }
        : {}),
    };
    await client.send(new CreateTableCommand(input));
    created.push(name);
  }
  return created;
}
