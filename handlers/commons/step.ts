import { isTransientAwsError, TransientAwsError } from './errors.ts';
import type { Logger } from './logger.ts';

export type StepFunction<R = unknown> = (event: unknown) => Promise<R>;

/**
 * Wraps a use case as a Lambda-style entry point: transient AWS failures become TransientAwsError
 * (the workflows retry exactly that name with backoff), everything else keeps its own name.
 */
export function step<R>(name: string, log: () => Logger, run: (event: unknown) => Promise<R>): StepFunction<R> {
  return async (event) => {
    try {
      return await run(event);
    } catch (err) {
      const e = err as Error;
      if (isTransientAwsError(e)) {
        log().warn('transient AWS error', { step: name, error: e.name, message: e.message });
        throw new TransientAwsError(`${e.name}: ${e.message}`, e.name);
      }
      log().error('step failed', { step: name, error: e.name, message: e.message });
      throw err;
    }
  };
}
