import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { parseStackConfig } from './config.ts';
import { addSecurityChecks } from './nag.ts';
import { IncidentFlowsStack } from './stack.ts';

/**
 * Builds the CDK app. Tests and the sandbox pass context to skip bundling. cdk-nag's AwsSolutions
 * checks run on every synthesis: an unacknowledged finding stops it (infra/nag.ts).
 */
export function buildApp(context: Record<string, unknown> = {}): { app: App; stack: IncidentFlowsStack } {
  const app = new App({ context });
  addSecurityChecks(app);
  const config = parseStackConfig(app.node.tryGetContext('incidentFlows'));
  const stack = new IncidentFlowsStack(app, 'IncidentFlows', {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'incident-flows: runbook incident procedures as Step Functions state machines',
  });
  return { app, stack };
}

/**
 * Whether this module is the script Node runs (`npx tsx infra/app.ts`, what cdk.json's "app" runs)
 * rather than an import (tests, the sandbox). Compares real file paths: `file://${argv[1]}` is not
 * this module's URL in a folder whose path has a space (%20) or through a symlink. The same rule as
 * cli/main.ts's isEntryPoint; kept here so synth does not load the CLI.
 */
export function isEntryPoint(moduleUrl: string, argv1: string | undefined): boolean {
  if (!argv1) return false;
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  try {
    return real(fileURLToPath(moduleUrl)) === real(resolve(argv1));
  } catch {
    return false;
  }
}

if (isEntryPoint(import.meta.url, process.argv[1])) {
  buildApp().app.synth();
}
