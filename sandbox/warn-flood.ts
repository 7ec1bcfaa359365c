import type { LogStore } from './logs.ts';
import { seededRandom } from './faults.ts';
import type { Scenario } from './scenario.ts';

/**
 * The `warn-flood` service fault: the service writes WARN lines of a few message patterns — each
 * with its own numbers, ids, addresses and timestamps — at `warnPerMinute`, from `warnSinceMinutes`
 * before the scenario's start. Nothing else changes: tasks stay healthy, as in the runbook's P2
 * ("Minor Issues"). Lines are written up to "now" each time an API is called, never ahead of it.
 */
const PATTERNS: { weight: number; line: (r: () => number, at: number) => string }[] = [
  { weight: 5, line: (r) => `WARN Slow response from governance Lambda: ${1500 + Math.floor(r() * 2500)} ms (request ${uuid(r)})` },
  { weight: 3, line: (r) => `WARN Retrying DynamoDB request for policy pol-${Math.floor(r() * 10)}${hex(r, 4)} after ProvisionedThroughputExceededException (attempt ${1 + Math.floor(r() * 3)})` },
  { weight: 2, line: (r, at) => `WARN Connection pool ${80 + Math.floor(r() * 19)}% utilised (${16 + Math.floor(r() * 4)}/20 connections) at ${new Date(at).toISOString()}` },
  { weight: 1, line: (r) => `WARN Upstream 10.0.${Math.floor(r() * 8)}.${10 + Math.floor(r() * 200)}:8080 answered 429; backing off ${250 * (1 + Math.floor(r() * 4))} ms` },
];
const TOTAL = PATTERNS.reduce((n, p) => n + p.weight, 0);

interface Flood {
  logGroup: string;
  perMinute: number;
  /** Next minute (ms) to write. */
  nextMinute: number;
  streams: string[];
}

export class WarnFlood {
  private readonly floods: Flood[] = [];
  private readonly rng: () => number;

  constructor(
    scenario: Scenario,
    private readonly logs: LogStore,
  ) {
    this.rng = seededRandom(scenario.seed + 7);
    const start = Date.parse(scenario.startTime);
    for (const f of scenario.serviceFaults) {
      if (f.kind !== 'warn-flood') continue;
      const spec = scenario.services.find((s) => s.name === f.service);
      if (!spec) continue;
      const logGroup = spec.logGroup ?? `/ecs/${spec.name}`;
      logs.ensureGroup(logGroup);
      const streams = Array.from({ length: Math.max(1, spec.desiredCount) }, () => `ecs/${spec.family ?? spec.name}/${hex(this.rng, 32)}`);
      this.floods.push({ logGroup, perMinute: f.warnPerMinute, nextMinute: start - f.warnSinceMinutes * 60_000, streams });
    }
  }

  /** Writes every minute of WARN lines that has fully passed by `nowMs`. */
  advanceTo(nowMs: number): void {
    for (const flood of this.floods) {
      while (flood.nextMinute + 60_000 <= nowMs) {
        for (let i = 0; i < flood.perMinute; i += 1) {
          const at = flood.nextMinute + Math.floor(this.rng() * 60_000);
          const stream = flood.streams[Math.floor(this.rng() * flood.streams.length)]!;
          this.logs.write(flood.logGroup, stream, at, pick(this.rng)(this.rng, at));
        }
        flood.nextMinute += 60_000;
      }
    }
  }
}

function pick(r: () => number): (r: () => number, at: number) => string {
  let n = r() * TOTAL;
  for (const p of PATTERNS) {
    n -= p.weight;
    if (n < 0) return p.line;
  }
  return PATTERNS[0]!.line;
}

function hex(r: () => number, digits: number): string {
  let out = '';
  for (let i = 0; i < digits; i += 1) out += Math.floor(r() * 16).toString(16);
  return out;
}

function uuid(r: () => number): string {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
