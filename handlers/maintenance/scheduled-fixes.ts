import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeIf } from '#commons/dynamo';
import { IncidentStore, incidentIdOf, type IncidentTimelineEntry } from '#commons/incidents';

/** A P2 fix planned for a maintenance window, as the incident record keeps it. */
export interface ScheduledFix {
  executionArn: string;
  service: string;
  cluster: string;
  window: { start: string; end: string; label: string };
  /** One line per WARN pattern: "×42 WARN Slow response … <n> ms". */
  what: string[];
  warnings: number;
  scheduledAt: string;
}

/**
 * The incident a P2 execution belongs to: an alarm's incident when it lists the execution (as
 * record-incident decides), else an incident of its own named after the execution.
 */
export async function incidentOf(store: IncidentStore, executionName: string, executionArn: string): Promise<string> {
  const claimed = incidentIdOf(executionName);
  if (claimed === executionName) return claimed;
  const record = await store.get(claimed);
  return record?.executions?.[executionName]?.executionArn === executionArn ? claimed : executionName;
}

/**
 * Writes the scheduled fix on the incident record with its timeline entry, once per execution: a
 * retried step (its first answer lost) finds it written and adds nothing. True when written now.
 */
export async function recordScheduledFix(db: DynamoDBDocumentClient, table: string, incidentId: string, fix: ScheduledFix): Promise<boolean> {
  const entry: IncidentTimelineEntry = { at: fix.scheduledAt, kind: 'step', state: 'Schedule the fix', what: `fix of ${fix.warnings} WARN line(s) scheduled for the maintenance window ${fix.window.label}` };
  return writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: `INCIDENT#${incidentId}` },
        UpdateExpression: 'SET scheduledFix = :fix, timeline = list_append(if_not_exists(timeline, :empty), :entries)',
        ConditionExpression: 'attribute_not_exists(scheduledFix) OR scheduledFix.executionArn <> :arn',
        ExpressionAttributeValues: { ':fix': fix, ':empty': [], ':entries': [entry], ':arn': fix.executionArn },
      }),
    ),
  );
}
