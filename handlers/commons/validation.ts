import * as z from 'zod';
import { InvalidInputError } from './errors.ts';

/**
 * Parses `event` with `schema` or throws InvalidInputError whose message names the field, what
 * was wrong and how to fix it — the on-call engineer reads this in the console at 3 a.m.
 */
export function parseInput<S extends z.ZodType>(schema: S, event: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const messages = result.error.issues.slice(0, 5).map((issue) => describeIssue(schema, issue));
  throw new InvalidInputError(`invalid ${what}: ${messages.join('; ')}`);
}

/** Unknown fields named in one message, at most (a hostile input may carry thousands). */
const MAX_KEYS_NAMED = 10;
/** Characters of a field name quoted back, at most (a hostile name may be 200 KB). */
const MAX_KEY_CHARS = 60;

/**
 * A field name the input chose, quoted back safely: control characters escaped (the message is read
 * in a terminal, the console and a Slack report), at most MAX_KEY_CHARS characters.
 */
function quoted(key: string): string {
  const text = JSON.stringify(key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) : key).slice(1, -1);
  return `"${text}${key.length > MAX_KEY_CHARS ? `…" (${key.length} characters)` : '"'}`;
}

/** One segment of a field path: escaped and cut like a quoted name, without the quotes. */
function segment(key: string): string {
  const text = JSON.stringify(key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) : key).slice(1, -1);
  return key.length > MAX_KEY_CHARS ? `${text}…` : text;
}

function describeIssue(schema: z.ZodType, issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => segment(String(p))).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path ? ` in "${path}"` : '';
    const allowed = Object.keys(shapeAt(schema, issue.path) ?? {});
    const named = issue.keys.slice(0, MAX_KEYS_NAMED).map(quoted).join(', ');
    const more = issue.keys.length > MAX_KEYS_NAMED ? ` and ${issue.keys.length - MAX_KEYS_NAMED} more` : '';
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${named}${more}${where}: remove ${issue.keys.length > 1 ? 'them' : 'it'}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
  }
  const field = path ? `field "${path}"` : 'the input';
  const hint = hintAt(schema, issue.path);
  const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
  const detail = issue.message.replace(/^invalid input: /i, '');
  const problem = missing ? ' is required' : `: ${detail.charAt(0).toLowerCase()}${detail.slice(1)}`;
  return `${field}${problem}${hint ? ` — ${hint}` : ''}`;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (let i = 0; i < 5; i++) {
    const def = (s as unknown as { def?: { innerType?: z.ZodType } }).def;
    if (def?.innerType) s = def.innerType;
    else break;
  }
  return s;
}

function shapeAt(schema: z.ZodType, path: PropertyKey[]): Record<string, z.ZodType> | undefined {
  let s = unwrap(schema);
  for (const key of path) {
    const shape = (s as unknown as { shape?: Record<string, z.ZodType> }).shape;
    const next = shape?.[String(key)];
    if (!next) return undefined;
    s = unwrap(next);
  }
  return (s as unknown as { shape?: Record<string, z.ZodType> }).shape;
}

function hintAt(schema: z.ZodType, path: PropertyKey[]): string | undefined {
  if (path.length === 0) return undefined;
  const parent = shapeAt(schema, path.slice(0, -1));
  const field = parent?.[String(path[path.length - 1])];
  return field?.description;
}
