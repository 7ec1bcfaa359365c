import { parseArgs } from 'node:util';
import { ScenarioError } from '../sandbox/scenario.ts';
import { checkSimulationSize, DRILL_FAULTS, DRILL_WORKFLOWS, loadDrillScenario, P1_DRILL_FAULTS, planDrill } from './drill-scenario.ts';

const USAGE = `incident-flows — the runbook's incident procedures as Step Functions workflows

Usage:
  incident-flows drill p0 [--service NAME] [--fault KIND] [--approval WHO] [--scenario FILE] [--json]
      Boot the local sandbox, inject a fault, fire the alarm and run the P0 workflow end to end.
      --fault: ${Object.keys(DRILL_FAULTS).join(', ')} (default crash-loop)
      Exit code 0 only when the outcome is what the fault calls for.
      --approval approve|reject|none|late: the restart needs a person (remediation budget spent); the drill
      plays them with signed Slack clicks. The --json report lists the approvals (tier, decision, by, at).
  incident-flows drill p1 [--service NAME] [--fault KIND] [--approval WHO] [--scenario FILE] [--json]
      The P1 (Degraded Performance) workflow: CPU high → scale out within the policy → monitor → verify.
      --fault: ${Object.keys(P1_DRILL_FAULTS).join(', ')} (default cpu-saturation)
  incident-flows drill p2 [--service NAME] [--fault warn-flood|none] [--scenario FILE] [--json]
      P2 "Minor Issues": a WARN flood, the service's P2 alarm, WARN lines grouped by pattern, a fix
      scheduled for the next maintenance window — and no change to the service.
  incident-flows drill deploy [--service NAME] [--fault none|bad-image|failing-health|alarm-during-bake] [--approval approve|reject] [--scenario FILE] [--json]
      The Standard Deployment: backup, register, approval (played in Slack), update, wait, verify, bake on the
      alarms; a failing image is rolled back on its own (default fault bad-image).
  incident-flows drill rollback [--mode quick|full] [--service NAME] [--approval approve|reject] [--json]
      A deploy, then the Rollback Procedure: quick (the previous revision) or full (restore the backup).
  incident-flows deploy --service NAME (--image URI | --task-definition FAMILY:REV) [--environment production|staging]
        [--bake-minutes N] [--alarm NAME]... [--smoke URL]... [--wait [--wait-minutes N]] [--json] [--endpoint URL]
      Hand a built image to the deploy workflow (what a CI pipeline runs, docs/deployments.md). With --wait:
      exit 0 deployed, 1 failed or rolled back, 3 still running when --wait-minutes ran out.
  incident-flows rollback --service NAME [--mode quick|full] [--to-revision FAMILY:REV] [--wait] [--json] [--endpoint URL]
  incident-flows drill health-check [--fault none|service-down|lambda-down|table-missing|cpu-high] [--scenario FILE] [--json]
      The daily health check as its schedule starts it: one line per component, red for the fault's.
  incident-flows approve <approval-id> [--reason TEXT]
  incident-flows reject <approval-id> --reason TEXT
      Decide an approval without Slack (Slack down): same exactly-once path, recorded as your AWS identity.
  incident-flows sandbox [--scenario FILE] [--speed N] [--port PORT]
      Serve the sandbox on 127.0.0.1 until Ctrl-C; point the AWS CLI or SDK at it with AWS_ENDPOINT_URL.
      Its clock follows wall time from now (N times faster with --speed), so the runbook's own commands
      — "the last hour", update-service then wait services-stable — behave as on AWS.
  incident-flows start <workflow> --service NAME [--cluster NAME] [--dry-run] [--wait] [--force] [--endpoint URL]
      Start a workflow by hand (p0); prints the execution ARN and its console link. A dry run waits and shows the planned changes.
  incident-flows status [execution] [--report] [--endpoint URL]      one execution (default: the newest) and its incident
  incident-flows list [--status RUNNING] [--limit N] [--endpoint URL]
  incident-flows alarm <alarm-name> [--state ALARM|OK] [--reason TEXT] [--endpoint URL]
      Set a CloudWatch alarm's state (set-alarm-state): ALARM reaches start-incident through EventBridge.
      Against AWS with your usual credentials, or a running \`incident-flows sandbox\` with --endpoint URL (docs/manual-start.md).
  incident-flows drill storm [--services 10] [--events 1000] [--seconds 60]
      An alarm storm through EventBridge → start-incident: one execution per service, every event on a timeline.
  incident-flows help
`;

/** Exit codes: 0 ok, 1 the drill's outcome was wrong, 2 bad usage or input. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `incident-flows start --help` is a person asking, not a typo.
  if (command !== undefined && (rest.includes('--help') || rest[0] === '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'drill':
      return rest[0] === 'storm' ? incidentCommand('storm', rest.slice(1)) : drill(rest);
    case 'start':
    case 'status':
    case 'list':
    case 'alarm':
      return incidentCommand(command, rest);
    case 'approve':
    case 'reject': {
      quietSdkNotice();
      const { approveCommand } = await import('./approve.ts');
      return approveCommand(rest, command === 'approve' ? 'approved' : 'rejected');
    }
    case 'deploy':
    case 'rollback':
      return deploymentCommand(command, rest);
    case 'sandbox':
      return serve(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`incident-flows: unknown command "${printable(command)}" — run \`incident-flows help\` for the commands\n`);
      return 2;
  }
}

/** The drill runs the handlers in this process: Node 20's SDK support notice is noise on a drill's screen. */
function quietSdkNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

async function drill(args: string[]): Promise<number> {
  quietSdkNotice();
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      service: { type: 'string' },
      fault: { type: 'string' },
      approval: { type: 'string' },
      scenario: { type: 'string' },
      mode: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const workflow = positionals[0] ?? 'p0';
  if (workflow === 'deploy' || workflow === 'rollback') return (await import('./drill-deploy.ts')).deploymentDrillCommand(workflow, values, positionals.slice(1));
  if (values.mode !== undefined) throw new ScenarioError('--mode applies to drill rollback only');
  // P2 and the daily health check change nothing: their drills live in cli/drill-p2.ts and cli/drill-health.ts.
  if (workflow === 'p2') return (await import('./drill-p2.ts')).p2DrillCommand(values, positionals.slice(1));
  if (workflow === 'health-check') return (await import('./drill-health.ts')).healthDrillCommand(values, positionals.slice(1));
  if (workflow !== 'p0' && workflow !== 'p1') {
    process.stderr.write(`incident-flows: drill "${printable(workflow)}" is not available — drill p0, p1, p2, health-check, deploy or rollback\n`);
    return 2;
  }
  if (positionals.length > 1) throw new ScenarioError(`unexpected argument "${printable(positionals[1]!)}" after "drill ${workflow}" — options start with --`);
  const plan = planDrill({ workflow, scenarioFile: values.scenario, service: values.service, fault: values.fault, approval: values.approval });
  // The sandbox (every SDK client, the Step Functions runner) loads only for a drill: help, start,
  // status and approve stay quick.
  const [{ runDrill }, { renderDrill }] = await Promise.all([import('./drill.ts'), import('./render.ts')]);
  let report;
  try {
    report = await runDrill(plan);
  } catch (err) {
    // The drill could not play out (an API the scenario took down, say): still a verdict, in the
    // form asked for — JSON for --json — and never a stack trace.
    const { describeError } = await import('./start.ts');
    const why = describeError(err);
    if (values.json) {
      const e = err as Error;
      const failed = { workflow: DRILL_WORKFLOWS[workflow].workflow, service: plan.service, cluster: plan.scenario.cluster, fault: plan.fault, expectedOutcome: plan.expected, outcome: 'failed', passed: false, error: e?.name ?? 'Error', cause: why };
      process.stdout.write(`${JSON.stringify(failed, null, 2)}\n`);
    }
    process.stderr.write(`incident-flows drill: the drill could not run to its end: ${why}\n`);
    debugStack(err);
    return 1;
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderDrill(report)}\n`);
  return report.passed ? 0 : 1;
}

async function serve(args: string[]): Promise<number> {
  quietSdkNotice();
  const { values } = parseArgs({ args, options: { scenario: { type: 'string' }, speed: { type: 'string' }, port: { type: 'string' } } });
  // Node's parseArgs takes "--port=" as an empty string and Number('') is 0: an empty value is no value.
  if (values.speed === '') throw new ScenarioError('--speed needs a number from 1 to 1000');
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!Number.isFinite(speed) || speed < 1 || speed > 1000) throw new ScenarioError(`--speed "${values.speed}" must be a number from 1 to 1000 (how many times faster than wall time)`);
  const port = values.port === undefined ? 0 : values.port.trim() === '' ? NaN : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ScenarioError(`--port "${values.port}" must be a port number (0 picks a free one)`);
  if (port !== 0) await portFree(port);
  const { Sandbox } = await import('../sandbox/index.ts');
  const { parseScenario } = await import('../sandbox/scenario.ts');
  const scenario = values.scenario ? loadDrillScenario(values.scenario) : checkSimulationSize(parseScenario({}));
  const sandbox = await Sandbox.start(scenario, { clock: { wall: { speed } }, port, echo: true });
  process.stdout.write(
    `sandbox listening on ${sandbox.url}\n` +
      `  export AWS_ENDPOINT_URL=${sandbox.url} AWS_REGION=${scenario.region} AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox\n` +
      `  (AWS CLI v2 before 2.13: pass --endpoint-url ${sandbox.url})\n` +
      `  clock: wall time from ${sandbox.clock.now().toISOString()}${speed === 1 ? '' : `, ${speed}× faster`}\n` +
      `  cluster ${scenario.cluster}: ${scenario.services.map((s) => s.name).join(', ')}\n` +
      `  state machines: ${sandbox.machines.map((m) => m.arn).join(', ')}\nCtrl-C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.stop();
  return 0;
}

/** --port taken (another sandbox, a LocalStack): say so before minutes of synthesis, not as a crash after. */
async function portFree(port: number): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: Error & { code?: string }) =>
      reject(new ScenarioError(`--port ${port}: ${err.code === 'EADDRINUSE' ? 'already in use on 127.0.0.1 — pick another, or 0 for a free one' : `cannot listen there (${err.code ?? err.message})`}`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** deploy and rollback (cli/deploy.ts): usage and input errors exit 2. */
async function deploymentCommand(command: 'deploy' | 'rollback', args: string[]): Promise<number> {
  quietSdkNotice();
  const { deployCommand } = await import('./deploy.ts');
  const { describeError, isUsageError, oneLine, endpointIn } = await import('./start.ts');
  try {
    return await deployCommand(command, args);
  } catch (err) {
    const usage = isUsageError(err);
    process.stderr.write(`incident-flows ${command}: ${usage ? oneLine((err as Error).message) : describeError(err, endpointIn(args))}\n`);
    debugStack(err);
    return usage ? 2 : 1;
  }
}

/** start, status, list, drill storm (cli/start.ts, cli/status.ts, cli/storm.ts): usage and input errors exit 2. */
async function incidentCommand(command: 'start' | 'status' | 'list' | 'storm' | 'alarm', args: string[]): Promise<number> {
  quietSdkNotice();
  const { runIncidentCommand } = await import('./start.ts');
  return runIncidentCommand(command, args);
}

/**
 * Process entry: runs a command and exits with its code. Any failure is one line on stderr —
 * usage and input errors exit 2, everything else 1 — never a stack trace, unless
 * INCIDENT_FLOWS_DEBUG is set (for whoever debugs the CLI itself).
 */
export async function runCli(argv: string[]): Promise<never> {
  // Last resort: an error nobody handled (an 'error' event without a listener, a rejected promise
  // nobody awaited) still ends as one line, not Node's stack dump.
  const crash = (err: unknown) => {
    void import('./start.ts').then(
      ({ describeError }) => process.stderr.write(`incident-flows: ${describeError(err)}\n`),
      () => process.stderr.write(`incident-flows: ${printable(String((err as Error)?.message ?? err))}\n`),
    ).finally(() => {
      debugStack(err);
      process.exit(1);
    });
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  try {
    process.exit(await main(argv));
  } catch (err) {
    const e = err as Error & { code?: string };
    const expected = e instanceof ScenarioError || e?.name === 'CliUsageError' || e?.name === 'InvalidInputError' || (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
    let line: string;
    if (expected) line = printable(e.message);
    else {
      const { describeError } = await import('./start.ts');
      line = describeError(err);
    }
    process.stderr.write(`incident-flows: ${line}\n`);
    debugStack(err);
    process.exit(expected ? 2 : 1);
  }
}

function debugStack(err: unknown): void {
  if (process.env.INCIDENT_FLOWS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** A user's text echoed in a message: one line, control characters escaped, not too long. */
function printable(text: string): string {
  const line = text.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

if (import.meta.url === `file://${process.argv[1]}`) void runCli(process.argv.slice(2));
