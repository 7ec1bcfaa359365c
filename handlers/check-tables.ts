import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient, once } from '#commons/clients';
import { systemClock, type Clock } from '#commons/clock';
import { createLogger } from '#commons/logger';
import { step } from '#commons/step';
import { parseInput } from '#commons/validation';
import { checkInputSchema, type CheckResult, type HealthLine } from './health/plan.ts';

/** Anything that can send DescribeTable: the DynamoDB client or the document client over it. */
export interface CheckTablesDeps {
  dynamo: { send(command: DescribeTableCommand): Promise<{ Table?: { TableStatus?: string; ItemCount?: number } }> };
  clock: Clock;
}

/**
 * Runbook › Health Checks › "Check DynamoDB": `describe-table` for every configured table —
 * accessible means ACTIVE. A missing table is ResourceNotFoundException (DynamoDB API Reference,
 * DescribeTable). ItemCount is DynamoDB's own figure, refreshed about every six hours.
 */
export async function checkTables(event: unknown, deps: CheckTablesDeps): Promise<CheckResult> {
  const { plan } = parseInput(checkInputSchema, event, 'check-tables input');
  const lines: HealthLine[] = [];
  for (const table of plan.tables) {
    const component = `${table} (DynamoDB)`;
    try {
      const out = await deps.dynamo.send(new DescribeTableCommand({ TableName: table }));
      const status = out.Table?.TableStatus ?? 'UNKNOWN';
      const items = out.Table?.ItemCount;
      lines.push({ kind: 'table', component, ok: status === 'ACTIVE', figure: `${status === 'ACTIVE' ? 'accessible, ' : ''}${status}${items !== undefined ? `, ${items} item(s)` : ''}` });
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      lines.push({ kind: 'table', component, ok: false, figure: 'not found (ResourceNotFoundException)' });
    }
  }
  return { lines, checkedAt: deps.clock.now().toISOString() };
}

const defaults = once(() => ({ dynamo: dynamoClient(), clock: systemClock }));
const log = once(() => createLogger('check-tables'));
export const handler = step('check-tables', log, (event) => checkTables(event, defaults()));
