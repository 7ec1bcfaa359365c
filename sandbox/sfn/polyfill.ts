/**
 * aws-local-stepfunctions 3.x targets Node 22 and calls Promise.withResolvers() in every Task
 * state; Node 20 lacks it (every Task then fails with "Promise.withResolvers is not a function").
 * Importing this module first installs a spec-equivalent fallback; it is a no-op on Node 22+.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseWithResolversCtor = PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };

const ctor = Promise as PromiseWithResolversCtor;
if (typeof ctor.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
