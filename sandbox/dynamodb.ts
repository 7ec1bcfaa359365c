import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

const require = createRequire(import.meta.url);

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * DynamoDB for the sandbox: dynalite's request handler (in-memory LevelDB, real condition
 * expressions) mounted on the sandbox's own port, so one AWS_ENDPOINT_URL serves every API.
 */
export function dynamoListener(): Listener {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => { listeners(event: 'request'): Listener[] };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listener = server.listeners('request')[0];
  if (!listener) throw new Error('dynalite exposed no request handler');
  return listener;
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
