import { parseArgs } from 'node:util';
import { ScenarioError } from '../sandbox/scenario.ts';
import { DRILL_FAULTS, planDrill } from './drill-scenario.ts';

const USAGE = `incident-flows — the runbook's incident procedures as Step Functions workflows

Usage:
  incident-flows drill p0 [--service NAME] [--fault KIND] [--approval WHO] [--scenario FILE] [--json]
      Boot the local sandbox, inject a fault, fire the alarm and run the P0 workflow end to end.
      --fault: ${Object.keys(DRILL_FAULTS).join(', ')} (default crash-loop)
      Exit code 0 only when the outcome is what the fault calls for.
      --approval approve|reject|none|late: the restart needs a person (remediation budget spent); the drill
      plays them with signed Slack clicks. The --json report lists the approvals (tier, decision, by, at).
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
    case 'sandbox':
      return serve(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
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
      json: { type: 'boolean', default: false },
    },
  });
  const workflow = positionals[0] ?? 'p0';
  if (workflow !== 'p0') {
    process.stderr.write(`drill "${workflow}" is not available yet — only "p0" (System Down) can be drilled\n`);
    return 2;
  }
  const plan = planDrill({ scenarioFile: values.scenario, service: values.service, fault: values.fault, approval: values.approval });
  // The sandbox (every SDK client, the Step Functions runner) loads only for a drill: help, start,
  // status and approve stay quick.
  const [{ runDrill }, { renderDrill }] = await Promise.all([import('./drill.ts'), import('./render.ts')]);
  const report = await runDrill(plan);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderDrill(report)}\n`);
  return report.passed ? 0 : 1;
}

async function serve(args: string[]): Promise<number> {
  quietSdkNotice();
  const { values } = parseArgs({ args, options: { scenario: { type: 'string' }, speed: { type: 'string' }, port: { type: 'string' } } });
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  if (!Number.isFinite(speed) || speed < 1 || speed > 1000) throw new ScenarioError(`--speed "${values.speed}" must be a number from 1 to 1000 (how many times faster than wall time)`);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ScenarioError(`--port "${values.port}" must be a port number (0 picks a free one)`);
  const { Sandbox } = await import('../sandbox/index.ts');
  const { loadScenarioFile, parseScenario } = await import('../sandbox/scenario.ts');
  const scenario = values.scenario ? loadScenarioFile(values.scenario) : parseScenario({});
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

/** start, status, list, drill storm (cli/start.ts, cli/status.ts, cli/storm.ts): usage and input errors exit 2. */
async function incidentCommand(command: 'start' | 'status' | 'list' | 'storm' | 'alarm', args: string[]): Promise<number> {
  quietSdkNotice();
  const { runIncidentCommand } = await import('./start.ts');
  return runIncidentCommand(command, args);
}

/** Process entry: runs a command, prints a one-line error for expected failures, exits with the code. */
export async function runCli(argv: string[]): Promise<never> {
  try {
    process.exit(await main(argv));
  } catch (err) {
    const e = err as Error & { code?: string };
    const expected = e instanceof ScenarioError || e.code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`incident-flows: ${e.message}\n`);
    if (!expected) process.stderr.write(`${e.stack ?? ''}\n`);
    process.exit(expected ? 2 : 1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void runCli(process.argv.slice(2));
