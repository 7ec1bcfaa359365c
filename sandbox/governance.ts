import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Scenario, FunctionSpec, TableSpec } from './scenario.ts';

/**
 * The runbook's other components, beside the ECS services: the governance Lambda and its policy
 * table. A scenario may name its own (`functions`, `tables`); without them the sandbox has
 * `<project>-governance` and `<project>-governance-policies`, as the runbook's commands expect.
 */
export function functionsOf(scenario: Pick<Scenario, 'project'> & { functions?: FunctionSpec[] | undefined }): FunctionSpec[] {
  return scenario.functions ?? [{ name: `${scenario.project}-governance`, state: 'Active' }];
}

export function tablesOf(scenario: Pick<Scenario, 'project'> & { tables?: TableSpec[] | undefined }): TableSpec[] {
  return scenario.tables ?? [{ name: `${scenario.project}-governance-policies`, missing: false }];
}

/** Creates the scenario's tables in the sandbox's DynamoDB (dynalite); a `missing` one is left out. */
export async function createScenarioTables(scenario: Scenario, client: DynamoDBClient): Promise<string[]> {
  const created: string[] = [];
  for (const t of tablesOf(scenario)) {
    if (t.missing) continue;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: t.name,
          KeySchema: [{ AttributeName: 'policyId', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'policyId', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      created.push(t.name);
    } catch (err) {
      // A table of the stack's own with the same name is already there: that is the one checked.
      if ((err as Error).name !== 'ResourceInUseException') throw err;
    }
  }
  return created;
}

/**
 * `<project>/<App>`, where the fleet publishes the application's RequestCount and ErrorCount
 * (sandbox/app-metrics.ts): for "acme-axon", "acme/Axon" — the runbook's `${PROJECT_NAME}/Axon`.
 */
export function appNamespaceOf(service: string): string {
  const at = service.indexOf('-');
  if (at <= 0 || at === service.length - 1) return `${service}/App`;
  const app = service
    .slice(at + 1)
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return `${service.slice(0, at)}/${app}`;
}

/**
 * The stack's `healthCheck` configuration for this scenario (synthesized into the sandbox's stack):
 * its functions and tables, one error rate per service, then the scenario's own overrides.
 */
export function healthCheckContextOf(scenario: Scenario): Record<string, unknown> {
  return {
    functions: functionsOf(scenario).map((f) => f.name),
    tables: tablesOf(scenario).map((t) => t.name),
    errorRates: scenario.services.map((s) => ({ label: appNamespaceOf(s.name).split('/')[1], namespace: appNamespaceOf(s.name), service: s.name })),
    ...scenario.healthCheck,
  };
}
