import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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
