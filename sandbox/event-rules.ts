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
    const handlers: string[] = [];
    for (const target of (props.Targets as { Arn?: unknown }[] | undefined) ?? []) {
      const ref = (target.Arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      const fn = ref ? template.Resources?.[ref] : undefined;
      if (ref && fn?.Type === 'AWS::Lambda::Function') handlers.push(handlerNameOf(fn, ref));
    }
    rules.push({ logicalId, pattern, handlers });
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
