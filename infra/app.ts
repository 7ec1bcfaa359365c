import { App } from 'aws-cdk-lib';
import { parseStackConfig } from './config.ts';
import { IncidentFlowsStack } from './stack.ts';

/** Builds the CDK app. Tests and the sandbox pass context to skip bundling. */
export function buildApp(context: Record<string, unknown> = {}): { app: App; stack: IncidentFlowsStack } {
  const app = new App({ context });
  const config = parseStackConfig(app.node.tryGetContext('incidentFlows'));
  const stack = new IncidentFlowsStack(app, 'IncidentFlows', {
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'incident-flows: runbook incident procedures as Step Functions state machines',
  });
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
