import type { SimClock } from './clock.ts';
import { seededRandom } from './faults.ts';

/**
 * What the automation itself costs on AWS, charged on the sandbox's clock: a Lambda invocation
 * (cold the first time each function runs), each Step Functions state transition, each AWS API call
 * the sandbox answers, and an EventBridge delivery. Without it a drill's "time to recover" leaves
 * out the automation's own seconds, and the first remediating call would look instantaneous.
 *
 * Every figure is a mean in seconds; each charge draws a deterministic jitter of ±`jitter` around
 * it from the scenario's seed (one stream per function or operation, so concurrent work elsewhere
 * does not change a draw).
 */
export interface LatencyModel {
  /** Shown in drill reports and the bench. */
  name: string;
  lambda: {
    /** Init duration of a new execution environment (runtime start, bundle load, first connections). */
    coldStartSeconds: number;
    /** What every invocation costs on top of the handler's own work (the invoke path). */
    invokeSeconds: number;
    /** Idle time after which an environment is reclaimed and the next invocation is cold again; none = never. */
    idleReclaimSeconds?: number;
  };
  /** Step Functions Standard: each state entered (Task, Choice, Pass, Wait, …). */
  stateTransitionSeconds: number;
  api: {
    /** Any AWS API call the sandbox answers that `operations` does not name. */
    defaultSeconds: number;
    /** Per API (`dynamodb`) or per operation (`cloudtrail:LookupEvents`); the operation wins. */
    operations: Record<string, number>;
  };
  /** An event rule handing an event to its target (alarm state change → start-incident). */
  eventDeliverySeconds: number;
  /** Relative spread of every charge: 0.2 draws uniformly within ±20 % of the mean. */
  jitter: number;
}

/**
 * AWS's figures, as far as AWS documents them (checked 2026-12; the rest are stated as such):
 *
 * - Lambda cold start 0.45 s: the Lambda Operator Guide ("Cold starts and latency") puts a cold start
 *   "from under 100 ms to over 1 second"; the AWS Developer Tools Blog ("Reduce Lambda cold start
 *   times: migrate to AWS SDK for JavaScript v3") benchmarks Node.js with one bundled v3 client a few
 *   hundred ms; DESIGN.md measured our three-client bundles loading in ~190 ms before any connection.
 * - Lambda invoke 0.025 s: no AWS figure; warm invocations of an empty Node.js function take tens of
 *   ms end to end in public benchmarks (maxday/lambda-perf, adriantanasa's Node 20 runs: 10–35 ms).
 * - Idle reclaim: the Operator Guide says environments are kept "for a non-deterministic period of
 *   time" — no figure, so no reclaim by default: only a function's first invocation is cold.
 * - State transition 0.04 s: Step Functions documents no per-transition latency for Standard
 *   workflows; tens of ms is what community benchmarks of Pass chains show.
 * - API calls 0.04 s by default (in-region request/response, no documented figure); DynamoDB 0.008 s
 *   ("single-digit millisecond performance at any scale", DynamoDB's product description, plus the
 *   round trip); CloudTrail LookupEvents 0.5 s and CloudWatch Logs FilterLogEvents 0.3 s (both scan
 *   history server-side and are documented only by their 2 and 5 requests/s quotas — slower than
 *   the control-plane reads); ECS and CloudWatch reads 0.05 s, ECS writes 0.1 s; Step Functions
 *   StartExecution 0.05 s.
 * - EventBridge delivery 0.5 s: AWS says events reach targets "in near real time" (EventBridge FAQ)
 *   without a figure; half a second is the floor sandbox/eventbridge.ts already uses for ECS events.
 */
export const AWS_LATENCY: LatencyModel = {
  name: 'aws',
  lambda: { coldStartSeconds: 0.45, invokeSeconds: 0.025 },
  stateTransitionSeconds: 0.04,
  api: {
    defaultSeconds: 0.04,
    operations: {
      dynamodb: 0.008,
      'cloudtrail:LookupEvents': 0.5,
      'logs:FilterLogEvents': 0.3,
      'cloudwatch:DescribeAlarms': 0.05,
      'cloudwatch:GetMetricData': 0.05,
      'cloudwatch:GetMetricStatistics': 0.05,
      'ecs:DescribeServices': 0.05,
      'ecs:DescribeTasks': 0.05,
      'ecs:ListTasks': 0.05,
      'ecs:DescribeTaskDefinition': 0.05,
      'ecs:UpdateService': 0.1,
      'ecs:RegisterTaskDefinition': 0.1,
      'ecs:StopTask': 0.1,
      'sfn:StartExecution': 0.05,
    },
  },
  eventDeliverySeconds: 0.5,
  jitter: 0.2,
};

/** The automation is free: the sandbox as it was before latencies were modelled. */
export const NO_LATENCY: LatencyModel = {
  name: 'none',
  lambda: { coldStartSeconds: 0, invokeSeconds: 0 },
  stateTransitionSeconds: 0,
  api: { defaultSeconds: 0, operations: {} },
  eventDeliverySeconds: 0,
  jitter: 0,
};

export type LatencyOption = 'aws' | 'none' | LatencyModel;

export function latencyModelOf(option: LatencyOption): LatencyModel {
  if (option === 'aws') return AWS_LATENCY;
  if (option === 'none') return NO_LATENCY;
  return option;
}

/** What was charged so far (drill reports, the bench). */
export interface LatencyTotals {
  coldStarts: number;
  warmInvocations: number;
  transitions: number;
  apiCalls: number;
  deliveries: number;
  /** Seconds charged, all kinds together (concurrent charges overlap on the clock, so this is work, not elapsed time). */
  seconds: number;
}

/**
 * One sandbox's latencies: the model, which functions are warm, and the seeded jitter. Each method
 * returns the seconds to charge and counts the charge; `charge` sleeps them on the clock.
 */
export class Latency {
  readonly model: LatencyModel;
  readonly totals: LatencyTotals = { coldStarts: 0, warmInvocations: 0, transitions: 0, apiCalls: 0, deliveries: 0, seconds: 0 };
  /** Function name → when its environment last finished being invoked (ms on the clock). */
  private readonly warmSince = new Map<string, number>();
  private readonly streams = new Map<string, () => number>();

  constructor(
    option: LatencyOption,
    private readonly opts: { seed: number; clock: Pick<SimClock, 'nowMs'> },
  ) {
    this.model = latencyModelOf(option);
  }

  /** True when nothing costs time: callers skip their sleeps altogether. */
  get free(): boolean {
    const m = this.model;
    return m.lambda.coldStartSeconds === 0 && m.lambda.invokeSeconds === 0 && m.stateTransitionSeconds === 0 && m.api.defaultSeconds === 0 && Object.values(m.api.operations).every((s) => s === 0) && m.eventDeliverySeconds === 0;
  }

  /** A Lambda invocation of `functionName`: cold on its first run in this sandbox (or after the idle reclaim), warm after. */
  lambdaInvoke(functionName: string): number {
    const { coldStartSeconds, invokeSeconds, idleReclaimSeconds } = this.model.lambda;
    const now = this.opts.clock.nowMs();
    const last = this.warmSince.get(functionName);
    const cold = last === undefined || (idleReclaimSeconds !== undefined && now - last > idleReclaimSeconds * 1000);
    this.warmSince.set(functionName, now);
    if (cold) this.totals.coldStarts += 1;
    else this.totals.warmInvocations += 1;
    const seconds = this.draw(`lambda:${functionName}`, invokeSeconds) + (cold ? this.draw(`init:${functionName}`, coldStartSeconds) : 0);
    return this.count(seconds);
  }

  /** `count` state transitions of a Standard workflow. */
  stateTransitions(count: number): number {
    if (count <= 0) return 0;
    this.totals.transitions += count;
    let seconds = 0;
    for (let i = 0; i < count; i++) seconds += this.draw('transition', this.model.stateTransitionSeconds);
    return this.count(seconds);
  }

  /** One AWS API call (api as the sandbox names it: ecs, cloudtrail, logs, sfn, dynamodb, …). */
  apiCall(api: string, operation: string): number {
    const ops = this.model.api.operations;
    const key = `${api}:${operation}`;
    const mean = ops[key] ?? ops[api] ?? this.model.api.defaultSeconds;
    this.totals.apiCalls += 1;
    return this.count(this.draw(key, mean));
  }

  /** An event rule delivering one event to its target. */
  eventDelivery(): number {
    this.totals.deliveries += 1;
    return this.count(this.draw('eventbridge', this.model.eventDeliverySeconds));
  }

  private count(seconds: number): number {
    this.totals.seconds += seconds;
    return seconds;
  }

  /** `mean` ± jitter, from a stream of its own per key (milliseconds are the clock's resolution). */
  private draw(key: string, mean: number): number {
    if (mean <= 0) return 0;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = seededRandom((this.opts.seed ^ fnv1a(key)) >>> 0);
      this.streams.set(key, stream);
    }
    const spread = this.model.jitter * (2 * stream() - 1);
    return Math.max(0.001, Math.round(mean * (1 + spread) * 1000) / 1000);
  }
}

/**
 * Spends `seconds` on the clock (SimClock.spend). The sleep stands in for whoever waits on it: a
 * clock actor (an execution's thread, an EventBridge delivery), or the caller of an API request, who
 * is waiting on the answer. A caller that holds no actor only lets time move, never holds it back;
 * a holder that waits on this work without sleeping is let through once the clock goes quiet.
 */
export function charge(clock: SimClock, seconds: number, signal?: AbortSignal): Promise<void> | undefined {
  return seconds > 0 ? clock.spend(seconds, signal) : undefined;
}

/**
 * For an event rule's Lambda target (sandbox/eventbridge.ts's alarm → start-incident): the delivery and
 * the invocation (cold the first time) are charged, then `run` runs. The whole delivery is one clock
 * actor, as the ECS deliveries are: time does not jump while the handler works, and its own API calls
 * (each charged by the server) stand in for it while they wait. Without latencies it is just `run()`,
 * so a sandbox on 'none' behaves exactly as before.
 */
export async function deliverToLambda<T>(clock: SimClock, latency: Latency | undefined, functionName: string, run: () => Promise<T>): Promise<T> {
  if (!latency || latency.free) return run();
  clock.enter();
  try {
    await charge(clock, latency.eventDelivery() + latency.lambdaInvoke(functionName));
    return await run();
  } finally {
    clock.leave();
  }
}

/** FNV-1a, 32 bits: a stable seed offset per key. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
