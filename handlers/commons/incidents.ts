import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { alarmRouteSchema, severityRank, severitySchema, tagKeysSchema, type AlarmRoute, type Severity, type TagKeys } from './alarms.ts';
import { IncidentFlowsError } from './errors.ts';
import { writeIf } from './dynamo.ts';

/**
 * The incident record and the per-service guards, in one DynamoDB table (partition key `pk`):
 *
 * - `SERVICE#<service>`  the active-incident lock: which incident owns the service, until when
 *                        (`expiresAt`, epoch seconds, also the table's TTL attribute).
 * - `INCIDENT#<id>`      the incident: service, severity, trigger, timeline, actions, approvals,
 *                        outcome, time to mitigate, the Markdown report.
 * - `BUDGET#<service>`   automatic remediations started in the last window (sliding).
 *
 * Every write that must happen once is a conditional write; every write a redelivered event can
 * repeat is idempotent (keyed by the EventBridge event id or the incident id).
 */

export class IncidentStoreError extends IncidentFlowsError {}

// ------------------------------------------------------------------ settings

const serviceInputSchema = z
  .object({
    healthUrl: z.string().url().optional(),
    logGroup: z.string().min(1).optional(),
    restartMode: z.enum(['force-new-deployment', 'scale-to-zero']).optional(),
  })
  .strict();

/** What the stack configures for alarm starts (see infra/incidents.ts and docs/incidents.md). */
export const incidentSettingsSchema = z
  .object({
    incidentsTable: z.string().min(1),
    cluster: z.string().min(1).optional(),
    /** The services incident-flows may act on (the stack's allow-list); empty means any. */
    services: z.array(z.string().min(1)).default([]),
    /** Alarm name prefix → service and severity. */
    routes: z.array(alarmRouteSchema).default([]),
    /** Tag keys read from the alarm when no prefix matches; omit to skip the tag lookup. */
    tagKeys: tagKeysSchema.optional(),
    /** Severity → state machine ARN. Only P0 exists today; P1/P2 start it only if mapped here. */
    procedures: z.partialRecord(severitySchema, z.string().min(1)).default({}),
    /** Automatic remediations allowed per service per window; past it, starts require approval. */
    budget: z
      .object({ maxAutomatic: z.number().int().min(0).default(3), windowSeconds: z.number().int().min(60).default(3600) })
      .strict()
      .prefault({}),
    /** How long an open incident holds its service if nobody closes it (longer than the execution timeout). */
    lockSeconds: z.number().int().min(60).default(7200),
    /** After an incident closes, alarms for the service are still recorded on it for this long. */
    cooldownSeconds: z.number().int().min(0).default(300),
    /** Extra start input per service (health URL, log group, restart mode). */
    serviceInputs: z.record(z.string(), serviceInputSchema).default({}),
    /** Step Functions console region for links. */
    region: z.string().optional(),
  })
  .strict();

export type IncidentSettings = z.output<typeof incidentSettingsSchema>;
export type IncidentSettingsInput = z.input<typeof incidentSettingsSchema>;

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const envSchema = z.object({
  INCIDENTS_TABLE: z.string().min(1).default('incident-flows-incidents'),
  DEFAULT_CLUSTER: z.string().min(1).optional(),
  MANAGED_SERVICES: z.string().optional(),
  ALARM_ROUTES: json(z.array(alarmRouteSchema)).optional(),
  ALARM_TAG_KEYS: json(tagKeysSchema).optional(),
  PROCEDURES: json(z.partialRecord(severitySchema, z.string().min(1))).optional(),
  REMEDIATION_BUDGET: z.coerce.number().int().min(0).default(3),
  REMEDIATION_WINDOW_SECONDS: z.coerce.number().int().min(60).default(3600),
  INCIDENT_LOCK_SECONDS: z.coerce.number().int().min(60).default(7200),
  INCIDENT_COOLDOWN_SECONDS: z.coerce.number().int().min(0).default(300),
  SERVICE_INPUTS: json(z.record(z.string(), serviceInputSchema)).optional(),
  AWS_REGION: z.string().optional(),
});

/** Reads the settings the stack puts in the function's environment; a bad value names the variable. */
export function incidentSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): IncidentSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IncidentStoreError(`environment variable ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  return incidentSettingsSchema.parse({
    incidentsTable: e.INCIDENTS_TABLE,
    ...(e.DEFAULT_CLUSTER ? { cluster: e.DEFAULT_CLUSTER } : {}),
    services: (e.MANAGED_SERVICES ?? '').split(',').map((x) => x.trim()).filter(Boolean),
    routes: e.ALARM_ROUTES ?? [],
    ...(e.ALARM_TAG_KEYS ? { tagKeys: e.ALARM_TAG_KEYS } : {}),
    procedures: e.PROCEDURES ?? {},
    budget: { maxAutomatic: e.REMEDIATION_BUDGET, windowSeconds: e.REMEDIATION_WINDOW_SECONDS },
    lockSeconds: e.INCIDENT_LOCK_SECONDS,
    cooldownSeconds: e.INCIDENT_COOLDOWN_SECONDS,
    serviceInputs: e.SERVICE_INPUTS ?? {},
    ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}),
  });
}

// ------------------------------------------------------------------ records

export type TimelineKind = 'alarm' | 'alarm-after-close' | 'opened' | 'escalated' | 'started' | 'not-deployed' | 'step' | 'closed';

export interface IncidentTimelineEntry {
  at: string;
  kind: TimelineKind;
  what: string;
  /** Alarm entries: the EventBridge event id (each event appears once). */
  eventId?: string;
  alarmName?: string;
  severity?: Severity;
  /** Step entries: state name and seconds spent in it. */
  state?: string;
  seconds?: number;
}

export interface IncidentAction {
  at: string;
  what: string;
  /** Planned only (dry run), never applied. */
  planned: boolean;
  changes: unknown[];
}

export interface IncidentApproval {
  at: string;
  state: string;
  decision: string;
  by?: string;
  waitedSeconds?: number;
}

export interface ExecutionRef {
  executionArn: string;
  severity?: Severity;
  startedAt: string;
  status?: string;
}

export interface IncidentRecord {
  pk: string;
  id: string;
  service: string;
  cluster?: string;
  severity: Severity;
  trigger: { kind: 'alarm' | 'manual' | 'cli'; alarmName?: string; by?: string };
  status: 'open' | 'closed';
  openedAt: string;
  closedAt?: string;
  timeline: IncidentTimelineEntry[];
  alarmCount?: number;
  alarmEventIds?: Set<string>;
  executions?: Record<string, ExecutionRef>;
  startInput?: string;
  requireApproval?: boolean;
  budget?: { used: number; limit: number; windowSeconds: number };
  actions?: IncidentAction[];
  approvals?: IncidentApproval[];
  outcome?: string;
  timeToMitigateSeconds?: number;
  durations?: Record<string, number>;
  report?: string;
  notified?: Set<string>;
  recordedExecutions?: Set<string>;
  /** Sparse reconcile index: open (its end may need recording), or recheck (its alarms, once the cool-down is over). */
  reconcile?: 'incident-open' | 'recheck';
  /** Closed as recovered: when to look whether its alarms really went back to OK. */
  recheckAt?: string;
}

export interface ServiceLock {
  pk: string;
  service: string;
  incidentId: string;
  severity: Severity;
  severityRank: number;
  openingEventId: string;
  state: 'open' | 'closed';
  executionArn?: string;
  expiresAt: number;
}

export type OpeningFields = Pick<IncidentRecord, 'service' | 'severity' | 'trigger' | 'openedAt'> & {
  cluster?: string;
  startInput?: string;
  requireApproval?: boolean;
  budget?: IncidentRecord['budget'];
};

export interface BudgetDecision {
  requireApproval: boolean;
  used: number;
  /** The budget item to write, if this incident is to be counted; absent when nothing changes. */
  write?: { item: Record<string, unknown>; version: number };
}

/** Free, expired, ours already (a redelivery), closed by a lower severity than this one, or held by an ended execution. */
function claimCondition(lock: Omit<ServiceLock, 'pk' | 'state'>, now: Date, endedExecution?: string) {
  return {
    ConditionExpression: `attribute_not_exists(pk) OR expiresAt <= :now OR incidentId = :id OR (#state = :closed AND severityRank < :rank)${endedExecution ? ' OR executionArn = :ended' : ''}`,
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: {
      ':now': epochSeconds(now),
      ':id': lock.incidentId,
      ':closed': 'closed',
      ':rank': lock.severityRank,
      ...(endedExecution ? { ':ended': endedExecution } : {}),
    },
  };
}

/** The update that appends one alarm to an incident, once per event id; `open` fields only if absent. */
function alarmUpdate(incidentId: string, entry: IncidentTimelineEntry & { eventId: string }, open?: OpeningFields) {
  const sets = ['timeline = list_append(if_not_exists(timeline, :empty), :entry)', 'id = :incidentId', 'executions = if_not_exists(executions, :noExecutions)'];
  const values: Record<string, unknown> = {
    ':empty': [],
    ':entry': [entry],
    ':incidentId': incidentId,
    ':noExecutions': {},
    ':ids': new Set([entry.eventId]),
    ':one': 1,
    ':eventId': entry.eventId,
  };
  const names: Record<string, string> = {};
  if (open) {
    // The sparse `reconcile` key lets the reconciler find open incidents whose execution ended unrecorded.
    for (const [field, value] of Object.entries({ status: 'open', reconcile: 'incident-open', ...open })) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = if_not_exists(#${field}, :${field})`);
    }
  }
  return {
    Key: incidentKey(incidentId),
    UpdateExpression: `SET ${sets.join(', ')} ADD alarmEventIds :ids, alarmCount :one`,
    ConditionExpression: 'NOT contains(alarmEventIds, :eventId)',
    ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
    ExpressionAttributeValues: values,
  };
}

const incidentKey = (id: string) => ({ pk: `INCIDENT#${id}` });

/** Alarm starts are named `<incident id>--p0`; anything else (console, CLI) is an incident of its own. */
export function incidentIdOf(executionName: string): string {
  return /^(.+)--p[0-2]$/.exec(executionName)?.[1] ?? executionName;
}
const lockKey = (service: string) => ({ pk: `SERVICE#${service}` });
const budgetKey = (service: string) => ({ pk: `BUDGET#${service}` });
const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);


/** DynamoDB operations on the incidents table; every method is safe to repeat. */
export class IncidentStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Incidents still open (the sparse reconcile index holds only those and the rechecks). */
  openIncidents(): Promise<IncidentRecord[]> {
    return this.reconcilable('incident-open');
  }

  /** Incidents closed as recovered whose alarms are to be looked at again. */
  rechecks(): Promise<IncidentRecord[]> {
    return this.reconcilable('recheck');
  }

  /** The recheck is done (or another reconciler did it): true for exactly one caller. */
  async finishRecheck(incidentId: string): Promise<boolean> {
    return writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(incidentId),
          UpdateExpression: 'REMOVE #r',
          ConditionExpression: '#r = :recheck',
          ExpressionAttributeNames: { '#r': 'reconcile' },
          ExpressionAttributeValues: { ':recheck': 'recheck' },
        }),
      ),
    );
  }

  private async reconcilable(kind: 'incident-open' | 'recheck'): Promise<IncidentRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'reconcile',
        KeyConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': 'reconcile' },
        ExpressionAttributeValues: { ':r': kind },
      }),
    );
    return (out.Items ?? []) as IncidentRecord[];
  }

  async lock(service: string): Promise<ServiceLock | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: lockKey(service), ConsistentRead: true }));
    return out.Item as ServiceLock | undefined;
  }

  /** True if the lock is live at `now` (an expired lock is free even before TTL deletes it). */
  static holds(lock: ServiceLock | undefined, now: Date): lock is ServiceLock {
    return lock !== undefined && lock.expiresAt > epochSeconds(now);
  }

  /**
   * Takes the service for an incident unless another live incident holds it. `endedExecution`: the
   * holder's execution has ended (its end was never recorded), so its lock may be taken over.
   */
  async claim(lock: Omit<ServiceLock, 'pk' | 'state'>, now: Date, endedExecution?: string): Promise<boolean> {
    return writeIf(this.db.send(new PutCommand({ TableName: this.table, Item: { ...lockKey(lock.service), ...lock, state: 'open' }, ...claimCondition(lock, now, endedExecution) })));
  }

  /**
   * The execution about to change the service must hold its lock: the alarm's incident it belongs
   * to, itself already, or a free, expired or closed lock it takes now (a console start). Another
   * live holder means another restart loop is running: false, and nothing may change.
   */
  async holdForChange(p: { service: string; executionArn: string; now: Date; lockSeconds: number; severity?: Severity; endedHolder?: string }): Promise<boolean> {
    const incidentId = incidentIdOf(p.executionArn.split(':').pop() ?? p.executionArn);
    const mine = await writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: lockKey(p.service),
          UpdateExpression: 'SET executionArn = :arn',
          ConditionExpression: '#state = :open AND expiresAt > :now AND (executionArn = :arn OR (incidentId = :id AND attribute_not_exists(executionArn)))',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':arn': p.executionArn, ':id': incidentId, ':open': 'open', ':now': epochSeconds(p.now) },
        }),
      ),
    );
    if (mine) return true;
    return writeIf(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...lockKey(p.service),
            service: p.service,
            incidentId,
            // The workflow's own severity, so a P1 started from the console can still be raised to P0.
            severity: p.severity ?? 'P0',
            severityRank: severityRank(p.severity ?? 'P0'),
            openingEventId: p.executionArn,
            executionArn: p.executionArn,
            state: 'open',
            expiresAt: epochSeconds(p.now) + p.lockSeconds,
          },
          // endedHolder: its execution ended without its end being recorded (the event is best effort): the service is free.
          ConditionExpression: `attribute_not_exists(pk) OR expiresAt <= :now OR #state = :closed${p.endedHolder ? ' OR executionArn = :ended' : ''}`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':now': epochSeconds(p.now), ':closed': 'closed', ...(p.endedHolder ? { ':ended': p.endedHolder } : {}) },
        }),
      ),
    );
  }

  /** Raises the lock's severity if the incident still holds it at a lower one. */
  async raiseSeverity(service: string, incidentId: string, severity: Severity, rank: number): Promise<boolean> {
    return writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: lockKey(service),
          UpdateExpression: 'SET severity = :sev, severityRank = :rank',
          ConditionExpression: 'incidentId = :id AND severityRank < :rank',
          ExpressionAttributeValues: { ':sev': severity, ':rank': rank, ':id': incidentId },
        }),
      ),
    );
  }

  async noteExecution(service: string, incidentId: string, executionArn: string): Promise<void> {
    await writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: lockKey(service),
          UpdateExpression: 'SET executionArn = :arn',
          ConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: { ':arn': executionArn, ':id': incidentId },
        }),
      ),
    );
  }

  /**
   * Lets go of the service: it stays with the closed incident for `cooldownSeconds` (alarms in that
   * window are recorded on it), then the next alarm opens a new incident. Only the incident that
   * holds the lock, and only for its latest execution, may release it.
   */
  async release(service: string, incidentId: string, executionArn: string | undefined, until: Date): Promise<boolean> {
    return writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: lockKey(service),
          UpdateExpression: 'SET #state = :closed, expiresAt = :until',
          ConditionExpression: executionArn ? 'incidentId = :id AND (attribute_not_exists(executionArn) OR executionArn = :arn)' : 'incidentId = :id',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':closed': 'closed', ':until': epochSeconds(until), ':id': incidentId, ...(executionArn ? { ':arn': executionArn } : {}) },
        }),
      ),
    );
  }

  /**
   * Counts this incident against the service's remediation budget (a sliding window). Idempotent
   * per incident: a redelivered event gets the same answer. Past the budget nothing is counted and
   * the start must require approval.
   */
  async consumeBudget(service: string, incidentId: string, now: Date, limit: number, windowSeconds: number): Promise<{ requireApproval: boolean; used: number }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const decision = await this.budgetDecision(service, incidentId, now, limit, windowSeconds);
      if (!decision.write) return { requireApproval: decision.requireApproval, used: decision.used };
      const counted = await writeIf(
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: decision.write.item,
            ConditionExpression: 'attribute_not_exists(pk) OR #version = :v',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':v': decision.write.version },
          }),
        ),
      );
      if (counted) return { requireApproval: false, used: decision.used };
    }
    throw new IncidentStoreError(`remediation budget of ${service}: too much contention, try again`);
  }

  /**
   * Creates the incident if needed and appends one alarm to its timeline, once per event id.
   * `open` fields are set only if absent, so the first writer wins and a redelivery changes nothing.
   * Returns undefined when this event is already on the timeline.
   */
  async recordAlarm(
    incidentId: string,
    entry: IncidentTimelineEntry & { eventId: string },
    open?: OpeningFields,
  ): Promise<IncidentRecord | undefined> {
    const update = alarmUpdate(incidentId, entry, open);
    try {
      const out = await this.db.send(new UpdateCommand({ TableName: this.table, ...update, ReturnValues: open ? 'ALL_NEW' : 'NONE' }));
      return (out.Attributes as IncidentRecord | undefined) ?? ({ id: incidentId } as IncidentRecord);
    } catch (err) {
      if ((err as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw err;
    }
  }

  /**
   * The budget's verdict for this incident, and the write that would record it — made inside the
   * opening transaction (`open`), so a budget is never spent on an incident that did not open.
   */
  async budgetDecision(service: string, incidentId: string, now: Date, limit: number, windowSeconds: number): Promise<BudgetDecision> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: budgetKey(service), ConsistentRead: true }));
    const item = out.Item as { remediations?: { at: number; incidentId: string }[]; version?: number } | undefined;
    const since = now.getTime() - windowSeconds * 1000;
    const recent = (item?.remediations ?? []).filter((r) => r.at > since);
    if (recent.some((r) => r.incidentId === incidentId)) return { requireApproval: false, used: recent.length };
    if (recent.length >= limit) return { requireApproval: true, used: recent.length };
    const version = item?.version ?? 0;
    return {
      requireApproval: false,
      used: recent.length + 1,
      write: { item: { ...budgetKey(service), service, remediations: [...recent, { at: now.getTime(), incidentId }], version: version + 1 }, version },
    };
  }

  /**
   * Opens an incident in one DynamoDB transaction: the service's lock, the incident record with its
   * first alarm and start input, and the budget — all or none, so a failure in between can never
   * leave a lock without the record a later alarm needs to finish the job.
   */
  async open(p: {
    lock: Omit<ServiceLock, 'pk' | 'state'>;
    now: Date;
    endedExecution?: string;
    entry: IncidentTimelineEntry & { eventId: string };
    record: OpeningFields;
    budget?: BudgetDecision['write'];
  }): Promise<'opened' | 'lock-taken' | 'already-recorded' | 'budget-changed'> {
    const claim = claimCondition(p.lock, p.now, p.endedExecution);
    const update = alarmUpdate(p.lock.incidentId, p.entry, p.record);
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
      { Put: { TableName: this.table, Item: { ...lockKey(p.lock.service), ...p.lock, state: 'open' }, ...claim } },
      { Update: { TableName: this.table, ...update } },
    ];
    if (p.budget) {
      items.push({
        Put: {
          TableName: this.table,
          Item: p.budget.item,
          ConditionExpression: 'attribute_not_exists(pk) OR #version = :v',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':v': p.budget.version },
        },
      });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'opened';
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
      if ((err as Error).name !== 'TransactionCanceledException' || !reasons) throw err;
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'lock-taken';
      if (reasons[1]?.Code === 'ConditionalCheckFailed') return 'already-recorded';
      if (reasons[2]?.Code === 'ConditionalCheckFailed') return 'budget-changed';
      throw err;
    }
  }

  /** Appends entries that are not alarms (escalation, not deployed, started). */
  async appendTimeline(incidentId: string, entries: IncidentTimelineEntry[], set: Record<string, unknown> = {}): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':empty': [], ':entries': entries };
    const sets = ['timeline = list_append(if_not_exists(timeline, :empty), :entries)'];
    for (const [field, value] of Object.entries(set)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Notes an execution started for the incident, with its timeline entry, once per execution name
   * (a redelivered event that re-runs the idempotent StartExecution adds nothing). True if new.
   */
  async addExecution(incidentId: string, name: string, ref: ExecutionRef, entry: IncidentTimelineEntry): Promise<boolean> {
    return writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET executions.#name = :ref, timeline = list_append(if_not_exists(timeline, :empty), :entry)',
          ConditionExpression: 'attribute_exists(executions) AND attribute_not_exists(executions.#name)',
          ExpressionAttributeNames: { '#name': name },
          ExpressionAttributeValues: { ':ref': ref, ':empty': [], ':entry': [entry] },
        }),
      ),
    );
  }

  async get(incidentId: string): Promise<IncidentRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: incidentKey(incidentId), ConsistentRead: true }));
    return out.Item as IncidentRecord | undefined;
  }

  /**
   * Writes the end of an execution onto the incident (creating it for manual starts). Once per
   * execution: a redelivered status event finds it recorded and changes nothing.
   */
  async close(
    incidentId: string,
    fields: Partial<IncidentRecord> & { executionName: string; execution: ExecutionRef },
    executionArn: string,
    steps: IncidentTimelineEntry[],
  ): Promise<IncidentRecord> {
    const { executionName, execution, ...rest } = fields;
    const existing = await this.get(incidentId);
    const hasMap = existing?.executions !== undefined;
    const names: Record<string, string> = {
      '#executions': 'executions',
      ...(hasMap ? { '#name': executionName } : {}),
      ...(rest.status === 'closed' && !rest.recheckAt ? { '#reconcile': 'reconcile' } : {}),
    };
    // Closed as recovered: the reconciler looks at its alarms again once the cool-down is over.
    if (rest.status === 'closed' && rest.recheckAt) Object.assign(rest, { reconcile: 'recheck' });
    const values: Record<string, unknown> = { ':empty': [], ':steps': steps, ':arns': new Set([executionArn]), ':arn': executionArn };
    const sets = ['timeline = list_append(if_not_exists(timeline, :empty), :steps)'];
    for (const [field, value] of Object.entries({ id: incidentId, ...rest })) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      // Fields an alarm start already set keep their first value; the outcome fields are overwritten.
      const keep = ['service', 'cluster', 'severity', 'trigger', 'openedAt'].includes(field);
      sets.push(keep ? `#${field} = if_not_exists(#${field}, :${field})` : `#${field} = :${field}`);
    }
    if (hasMap) {
      values[':ref'] = execution;
      sets.push('#executions.#name = :ref');
    } else {
      values[':executions'] = { [executionName]: execution };
      sets.push('#executions = :executions');
    }
    // Not applied when recorded already (a redelivery) or the record changed shape under us: either
    // way, read what is there.
    await writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(incidentId),
          UpdateExpression: `SET ${sets.join(', ')} ADD recordedExecutions :arns${rest.status === 'closed' && !rest.recheckAt ? ' REMOVE #reconcile' : ''}`,
          ConditionExpression: `NOT contains(recordedExecutions, :arn) AND ${hasMap ? 'attribute_exists' : 'attribute_not_exists'}(#executions)`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
    return (await this.get(incidentId))!;
  }

  /** Saves the report; true only for the first caller per execution (so Slack hears it once). */
  async saveReport(incidentId: string, executionArn: string, report: string): Promise<boolean> {
    return writeIf(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET report = :report ADD notified :arns',
          ConditionExpression: 'NOT contains(notified, :arn)',
          ExpressionAttributeValues: { ':report': report, ':arns': new Set([executionArn]), ':arn': executionArn },
        }),
      ),
    );
  }

  /** Undoes saveReport's claim when the post failed, so a retry posts again. */
  async unmarkNotified(incidentId: string, executionArn: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'DELETE notified :arns',
        ExpressionAttributeValues: { ':arns': new Set([executionArn]) },
      }),
    );
  }
}

export type { AlarmRoute, Severity, TagKeys };
