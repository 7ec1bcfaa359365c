import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { expect, test } from 'vitest';
import { documentClient, dynamoClient } from '#commons/clients';
import { withSandbox } from '../support/p0.ts';

test('DynamoDB on the sandbox port honours condition expressions (exactly-once writes rely on it)', async () => {
  await withSandbox({}, async (sandbox) => {
    await dynamoClient(sandbox.clientOptions()).send(
      new CreateTableCommand({
        TableName: 'locks',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const db = documentClient(sandbox.clientOptions());
    const claim = () => db.send(new PutCommand({ TableName: 'locks', Item: { pk: 'acme-axon', at: 1 }, ConditionExpression: 'attribute_not_exists(pk)' }));
    await claim();
    await expect(claim()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await db.send(new GetCommand({ TableName: 'locks', Key: { pk: 'acme-axon' } }))).Item).toEqual({ pk: 'acme-axon', at: 1 });
  });
});

test('TransactWriteItems on the sandbox port is all or nothing, with a cancellation reason per item', async () => {
  await withSandbox({}, async (sandbox) => {
    const doc = documentClient(sandbox.clientOptions());
    const TableName = 'incident-flows-incidents';
    await doc.send(new PutCommand({ TableName, Item: { pk: 'A', v: 1 } }));
    const failed = await doc
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName, Item: { pk: 'B', v: 1 } } },
            { Update: { TableName, Key: { pk: 'A' }, UpdateExpression: 'SET v = :two', ConditionExpression: 'v = :zero', ExpressionAttributeValues: { ':two': 2, ':zero': 0 } } },
          ],
        }),
      )
      .catch((e: Error & { CancellationReasons?: { Code: string }[] }) => e);
    expect((failed as Error).name).toBe('TransactionCanceledException');
    expect((failed as { CancellationReasons?: { Code: string }[] }).CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    // Nothing applied: B was not created, A unchanged.
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'B' } }))).Item).toBeUndefined();
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'A' } }))).Item).toEqual({ pk: 'A', v: 1 });
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName, Item: { pk: 'B', v: 1 }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Update: { TableName, Key: { pk: 'A' }, UpdateExpression: 'SET v = :two', ConditionExpression: 'v = :one', ExpressionAttributeValues: { ':two': 2, ':one': 1 } } },
        ],
      }),
    );
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'A' } }))).Item).toEqual({ pk: 'A', v: 2 });
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'B' } }))).Item).toEqual({ pk: 'B', v: 1 });
  });
});
