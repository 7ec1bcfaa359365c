import { describe, expect, test } from 'vitest';
import type { Config } from '#commons/config';
import { resolveIncident } from '#commons/incident';

const config: Config = {
  defaultCluster: 'acme-cluster',
  managedServices: ['acme-axon', 'acme-orbit'],
  logGroupPattern: '/ecs/{service}',
  serviceSettings: { 'acme-orbit': { logGroup: '/custom/orbit', restartMode: 'scale-to-zero', expectedStartSeconds: 600, healthUrl: 'https://orbit.example.com/health' } },
  expectedStartSeconds: 30,
  healthRequestTimeoutMs: 5000,
  incidentsTable: 'incidents',
  approvalsTable: 'approvals',
  watchesTable: 'watches',
  lockSeconds: 7200,
};

function rejection(input: unknown, cfg: Config = config): Error {
  try {
    resolveIncident(input, cfg);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the input to be rejected');
}

describe('start input: bad input gets an error naming the field and the fix', () => {
  test('a valid input resolves the configured defaults', () => {
    expect(resolveIncident({ service: 'acme-axon' }, config)).toMatchObject({
      service: 'acme-axon',
      cluster: 'acme-cluster',
      logGroup: '/ecs/acme-axon',
      restartMode: 'force-new-deployment',
      lookbackMinutes: 60,
      expectedStartSeconds: 30,
      dryRun: false,
    });
  });

  test('a service configured with its own log group gets it when the input names none', () => {
    expect(resolveIncident({ service: 'acme-orbit' }, config).logGroup).toBe('/custom/orbit');
    expect(resolveIncident({ service: 'acme-orbit', logGroup: '/other' }, config).logGroup).toBe('/other');
  });

  test('a health URL on another host, or for a service with none configured, is refused: the verify step is no network probe', () => {
    expect(resolveIncident({ service: 'acme-orbit', healthUrl: 'https://orbit.example.com/ready' }, config).healthUrl).toBe('https://orbit.example.com/ready');
    const internal = rejection({ service: 'acme-orbit', healthUrl: 'http://169.254.169.254/latest/meta-data/' });
    expect(internal.name).toBe('InvalidInputError');
    expect(internal.message).toMatch(/field "healthUrl": http:\/\/169\.254\.169\.254 is not the configured health URL's origin/);
    expect(rejection({ service: 'acme-axon', healthUrl: 'http://10.0.0.1/health' }).message).toMatch(/no health URL is configured for "acme-axon"/);
  });

  test('every start of a configured service gets its health URL, restart mode and expected start; the input may override each', () => {
    expect(resolveIncident({ service: 'acme-orbit' }, config)).toMatchObject({
      healthUrl: 'https://orbit.example.com/health',
      restartMode: 'scale-to-zero',
      expectedStartSeconds: 600,
    });
    expect(resolveIncident({ service: 'acme-orbit', restartMode: 'force-new-deployment', expectedStartSeconds: 60 }, config)).toMatchObject({
      restartMode: 'force-new-deployment',
      expectedStartSeconds: 60,
    });
  });

  test('no service: names the field and shows an example', () => {
    const err = rejection({ cluster: 'acme-cluster' });
    expect(err.name).toBe('InvalidInputError');
    expect(err.message).toMatch(/field "service" is required/);
    expect(err.message).toMatch(/"service": "acme-axon"/);
  });

  test('wrong type: says what was expected', () => {
    const err = rejection({ service: 42 });
    expect(err.name).toBe('InvalidInputError');
    expect(err.message).toMatch(/field "service": expected string, received number/);
  });

  test('extra junk: names the unknown field and lists the allowed ones', () => {
    const err = rejection({ service: 'acme-axon', sevrity: 'P0' });
    expect(err.name).toBe('InvalidInputError');
    expect(err.message).toMatch(/unknown field "sevrity": remove it \(allowed: service, cluster/);
  });

  test('bad enum value: lists the accepted values', () => {
    const err = rejection({ service: 'acme-axon', restartMode: 'reboot' });
    expect(err.message).toMatch(/field "restartMode"/);
    expect(err.message).toMatch(/force-new-deployment/);
  });

  test('no cluster and no default: says how to configure one', () => {
    const err = rejection({ service: 'acme-axon' }, { ...config, defaultCluster: undefined });
    expect(err.message).toMatch(/field "cluster" is required.*DEFAULT_CLUSTER/);
  });

  test('a service outside the managed list is refused before any AWS call', () => {
    const err = rejection({ service: 'payments' });
    expect(err.name).toBe('ServiceNotManagedError');
    expect(err.message).toMatch(/field "service": "payments" is not managed/);
  });

  test('not an object at all', () => {
    const err = rejection('restart axon please');
    expect(err.name).toBe('InvalidInputError');
    expect(err.message).toMatch(/invalid start input/);
  });
});
