import { handlerNameOf, resolveIntrinsic, type CloudFormationTemplate, type ExtractOptions } from './sfn/asl.ts';

/**
 * The EventBridge rules of the synthesized stack, as the sandbox delivers by them: a rule whose
 * pattern does not match an event delivers nothing here either, so a wrong pattern fails a drill.
 * Patterns support what our rules use and EventBridge documents: exact values, `prefix`,
 * `anything-but`, `exists`, and nested detail fields ("Amazon EventBridge event patterns").
 */

export interface EventRule {
  logicalId: string;
  pattern: Record<string, unknown>;
  /** Handler names of the Lambda targets (their `incident-flows:handler` tag). */
  handlers: string[];
}

export function eventRules(template: CloudFormationTemplate, opts: ExtractOptions): EventRule[] {
  const rules: EventRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const props = resource.Properties ?? {};
    if (props.State === 'DISABLED' || !props.EventPattern) continue;
    const pattern = resolveIntrinsic(props.EventPattern, template, opts) as Record<string, unknown>;
    rules.push({ logicalId, pattern, handlers: targetHandlers(template, props.Targets) });
  }
  return rules;
}

/** Whether `event` matches an EventBridge event pattern. */
export function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, want]) => matchField(want, event[key]));
}

function matchField(want: unknown, value: unknown): boolean {
  if (Array.isArray(want)) {
    const values = Array.isArray(value) ? value : [value];
    return want.some((w) => values.some((v) => matchValue(w, v)) || (isExists(w) && matchValue(w, value)));
  }
  if (want !== null && typeof want === 'object') {
    return value !== null && typeof value === 'object' && !Array.isArray(value) && matches(want as Record<string, unknown>, value as Record<string, unknown>);
  }
  return false;
}

function isExists(w: unknown): boolean {
  return w !== null && typeof w === 'object' && 'exists' in (w as object);
}

function matchValue(want: unknown, value: unknown): boolean {
  if (want === null || typeof want !== 'object') return want === value;
  const rule = want as Record<string, unknown>;
  if ('prefix' in rule) return typeof value === 'string' && value.startsWith(String(rule.prefix));
  if ('anything-but' in rule) {
    const but = rule['anything-but'];
    return value !== undefined && !(Array.isArray(but) ? but : [but]).includes(value);
  }
  if ('exists' in rule) return (value !== undefined) === rule.exists;
  return false;
}

export interface ScheduleRule {
  logicalId: string;
  periodSeconds: number;
  handlers: string[];
}

/** Rules on a `rate(...)` schedule (EventBridge's "Schedule expressions"); cron schedules are not simulated. */
export function scheduleRules(template: CloudFormationTemplate): ScheduleRule[] {
  const rules: ScheduleRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const props = resource.Properties ?? {};
    const rate = typeof props.ScheduleExpression === 'string' ? /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(props.ScheduleExpression) : null;
    if (props.State === 'DISABLED' || !rate) continue;
    const unit = rate[2]!.startsWith('minute') ? 60 : rate[2]!.startsWith('hour') ? 3600 : 86400;
    rules.push({ logicalId, periodSeconds: Number(rate[1]) * unit, handlers: targetHandlers(template, props.Targets) });
  }
  return rules;
}

function targetHandlers(template: CloudFormationTemplate, targets: unknown): string[] {
  const handlers: string[] = [];
  for (const target of (targets as { Arn?: unknown }[] | undefined) ?? []) {
    const ref = (target.Arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    const fn = ref ? template.Resources?.[ref] : undefined;
    if (ref && fn?.Type === 'AWS::Lambda::Function') handlers.push(handlerNameOf(fn, ref));
  }
  return handlers;
}
