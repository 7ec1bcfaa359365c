import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  incident-flows approve <approval-id> [--reason TEXT] [--json]
  incident-flows reject <approval-id> --reason TEXT [--json]
      Decide an approval without Slack (Slack down): same exactly-once path, recorded as your AWS identity.
  incident-flows sandbox [--scenario FILE] [--speed N] [--port PORT]
      Serve the sandbox on 127.0.0.1 until Ctrl-C; point the AWS CLI or SDK at it with AWS_ENDPOINT_URL.
      Its clock follows wall time from now (N times faster with --speed), so the runbook's own commands
      — "the last hour", update-service then wait services-stable — behave as on AWS.
  incident-flows start p0|p1|p2 --service NAME [--cluster NAME] [--dry-run] [--wait [--wait-minutes N]] [--force] [--json] [--endpoint URL]
  incident-flows start health-check [--service NAME] [--wait] [--json] [--endpoint URL]
      Start a workflow by hand; prints the execution ARN and its console link, or the failure when its first
      state refuses it (a service the stack does not manage). A dry run waits and shows the planned changes.
  incident-flows status [execution] [--report] [--json] [--endpoint URL]      one execution (default: the newest) and its incident
  incident-flows list [--status RUNNING] [--limit N] [--json] [--endpoint URL]
  incident-flows alarm <alarm-name> [--state ALARM|OK|INSUFFICIENT_DATA] [--reason TEXT] [--json] [--endpoint URL]
      Set a CloudWatch alarm's state (set-alarm-state): ALARM reaches start-incident through EventBridge.
      Against AWS with your usual credentials, or a running \`incident-flows sandbox\` with --endpoint URL (docs/manual-start.md).
  incident-flows drill storm [--services 10] [--events 1000] [--seconds 60]
      An alarm storm through EventBridge → start-incident: one execution per service, every event on a timeline.
  incident-flows help [command]       incident-flows <command> --help       incident-flows --version

Exit codes: 0 ok, 1 the workflow or AWS said no (a drill: the outcome was not what the fault calls for),
2 bad usage or input, 3 --wait gave up while the execution still runs (start, deploy, rollback).
`;

/** The options every AWS-facing command takes. */
const CONNECTION_HELP = `Connection (AWS with your usual credentials, or a running \`incident-flows sandbox\`):
  --endpoint URL        the sandbox's address, as \`incident-flows sandbox\` prints it (default: AWS, or $AWS_ENDPOINT_URL)
  --local               use $AWS_ENDPOINT_URL (a sandbox) and refuse to run without it
  --region REGION       e.g. us-east-1 (default: your AWS configuration)
  --prefix PREFIX       the stack's name prefix (default incident-flows)`;

const WAIT_EXIT_CODES = `Exit codes:
  0  started (with --wait: succeeded)
  1  the execution failed, was aborted or timed out; or AWS refused a call
  2  bad usage or input (nothing was started)
  3  --wait gave up while the execution still runs (follow it with \`incident-flows status\`)`;

/** `incident-flows <command> --help`: usage, what it does, its options, its exit codes. */
export const COMMAND_HELP: Record<string, string> = {
  drill: `Usage: incident-flows drill <p0|p1|p2|health-check|deploy|rollback|storm> [options]

Boots the local sandbox (no AWS account needed), injects a fault, fires the alarm and runs the
workflow end to end on simulated time; prints the timeline and the verdict.

  p0             System Down: assess, investigate, restart, wait until stable, verify
  p1             Degraded Performance: scale out within the policy, monitor, verify
  p2             Minor Issues: WARN lines grouped by pattern, a fix scheduled; no change to the service
  health-check   the daily health check: one line per component
  deploy         the Standard Deployment; a failing image rolled back on its own
  rollback       a deploy, then the Rollback Procedure (quick or full)
  storm          an alarm storm through EventBridge → start-incident

Options:
  --service NAME        a service of the scenario (default acme-axon)
  --fault KIND          p0: ${Object.keys(DRILL_FAULTS).join(', ')} (default crash-loop)
                        p1: ${Object.keys(P1_DRILL_FAULTS).join(', ')} (default cpu-saturation)
                        p2: warn-flood, none   health-check: none, service-down, lambda-down, table-missing, cpu-high
                        deploy: none, bad-image, failing-health, alarm-during-bake (default bad-image)
  --approval WHO        p0, p1: approve, reject, none, late (the restart needs a person); deploy, rollback: approve, reject
  --mode quick|full     rollback only (default quick)
  --scenario FILE       a scenario JSON file: cluster, services, faults (e.g. examples/ledger-crash-loop.json)
  --json                the report as JSON on stdout
  storm: --services N (1-50, default 10)  --events N (1-20000, default 1000)  --seconds N (above 0, at most 3600; default 60)
         --alarms-per-service N (1-5, default 3)

Exit codes:
  0  the outcome is what the fault calls for
  1  it is not, or the drill could not run to its end
  2  bad usage or input
`,
  start: `Usage: incident-flows start <p0|p1|p2> --service NAME [--cluster NAME] [--dry-run] [--wait [--wait-minutes N]] [--force] [--json]
       incident-flows start health-check [--service NAME] [--wait [--wait-minutes N]] [--json]

Starts a workflow by hand (state machine <prefix>-p0-system-down, -p1-degraded, -p2-minor or
-health-check), with the input checked first by the schema its first state uses. Prints the
execution ARN and its console link. Without --wait it watches the first state for a few seconds:
an execution that fails there (a service the stack does not manage) is reported as failed, exit 1.

Options:
  --service NAME        the ECS service (p0, p1, p2: required; health-check: check only this one)
  --cluster NAME        the ECS cluster (default: the stack's)
  --restart-mode MODE   force-new-deployment (default) or scale-to-zero (the runbook's stop-then-start)
  --reason TEXT         why, recorded on the incident
  --dry-run             record the planned changes, make none; waits and prints them
  --wait                follow the execution to its end (progress on stderr when it is a terminal)
  --wait-minutes N      how long --wait waits: minutes above 0, at most 1440 (default 15)
  --force               start although an alarm's incident is already remediating the service (p0, p1)
  --json                the result as JSON on stdout

${CONNECTION_HELP}

${WAIT_EXIT_CODES}
`,
  status: `Usage: incident-flows status [execution] [--report] [--table NAME] [--json]

Shows one execution (its ARN or name; default the newest of the stack's): status, the state it is
in or ended in, how it ended, the planned changes of a dry run, and its incident record.

Options:
  --report              also print the post-incident report
  --table NAME          the incidents table (default <prefix>-incidents)
  --json                the status as JSON on stdout

${CONNECTION_HELP}

Exit codes:
  0  running or succeeded
  1  failed, aborted or timed out; or AWS refused a call
  2  bad usage, or no such execution
`,
  list: `Usage: incident-flows list [--status STATUS] [--limit N] [--json]

Lists the stack's executions, newest first, across its state machines.

Options:
  --status STATUS       one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
  --limit N             a whole number from 1 to 1000 (default 20)
  --json                the list as JSON on stdout

${CONNECTION_HELP}

Exit codes:
  0  listed (also when there are none)
  1  AWS refused a call
  2  bad usage
`,
  alarm: `Usage: incident-flows alarm <alarm-name> [--state ALARM|OK|INSUFFICIENT_DATA] [--reason TEXT] [--json]

Sets a CloudWatch alarm's state (set-alarm-state), the usual way to test an alarm's wiring: ALARM
reaches start-incident through EventBridge, which starts the alarm's workflow (docs/manual-start.md).

Options:
  --state STATE         ALARM (default), OK or INSUFFICIENT_DATA
  --reason TEXT         the state reason, 1 to 1023 characters
  --json                the result as JSON on stdout

${CONNECTION_HELP}

Exit codes:
  0  the state was set
  1  AWS refused (no such alarm, no permission) or did not answer
  2  bad usage
`,
  approve: `Usage: incident-flows approve <approval-id> [--reason TEXT] [--json]

Approves a pending approval without Slack (Slack down): the same exactly-once path as a click,
recorded as your AWS identity; the workflow carries on. The id is in the Slack message and the execution.

Options:
  --reason TEXT         recorded with the decision
  --table NAME          the approvals table (default <prefix>-approvals)
  --json                the decision as JSON on stdout

${CONNECTION_HELP}

Exit codes:
  0  decided
  1  not decided now: already decided (an earlier run included), expired, or not yours to decide;
     or AWS did not answer (it may not be recorded: running it again is safe)
  2  bad usage
`,
  reject: `Usage: incident-flows reject <approval-id> --reason TEXT [--json]

Rejects a pending approval without Slack (Slack down): the same exactly-once path as a click,
recorded as your AWS identity; the workflow changes nothing and escalates.

Options:
  --reason TEXT         required: why, recorded with the decision
  --table NAME          the approvals table (default <prefix>-approvals)
  --json                the decision as JSON on stdout

${CONNECTION_HELP}

Exit codes:
  0  decided
  1  not decided now: already decided (an earlier run included), expired, or not yours to decide;
     or AWS did not answer (it may not be recorded: running it again is safe)
  2  bad usage
`,
  sandbox: `Usage: incident-flows sandbox [--scenario FILE] [--speed N] [--port PORT]

Serves the sandbox cloud (ECS, CloudWatch, Step Functions running the stack's state machines, …)
on 127.0.0.1 until Ctrl-C; point the AWS CLI or SDK at it with AWS_ENDPOINT_URL, and the other
commands with --endpoint URL. Its clock follows wall time from now.

Options:
  --scenario FILE       a scenario JSON file: cluster, services, faults
  --speed N             the clock runs N times faster than wall time, 1 to 1000 (default 1)
  --port PORT           0 to 65535 (default 0: a free port)

Exit codes:
  0  stopped with Ctrl-C
  2  bad usage, a bad scenario, or the port is taken
`,
  deploy: `Usage: incident-flows deploy --service NAME (--image URI | --task-definition FAMILY:REV) [options]

Hands a built image (or a registered revision) to the deploy workflow: backup, register, approval,
update, wait until stable, verify, bake on the service's alarms; a failure after the update is
rolled back on its own. What a CI pipeline runs (docs/deployments.md).

Options:
  --image URI           the container image, with a tag or digest
  --task-definition FAMILY:REV   an already registered revision instead of --image
  --container NAME      the container that gets the image (default: the only essential one)
  --environment ENV     production (default: a person approves) or staging
  --bake-minutes N      minutes the alarms must stay OK afterwards, 0 to 180 (default 10)
  --alarm NAME          an alarm to bake on (repeatable; default the service's)
  --smoke URL           a smoke check the verify step GETs (repeatable, up to 10)
  --health-url URL      the health URL the verify step GETs
  --require-approval    a person approves even in staging
  --cluster NAME        the ECS cluster (default: the stack's)
  --reason TEXT         why, recorded with the deployment
  --name NAME           the execution's name
  --dry-run             plan the change, make none (waits)
  --wait                follow the execution to its end (progress on stderr)
  --wait-minutes N      how long --wait waits: whole minutes from 1 to 1440 (default 120)
  --json                the result as JSON on stdout

${CONNECTION_HELP}

${WAIT_EXIT_CODES.replace('the execution failed, was aborted', 'the deployment failed or was rolled back, aborted')}
`,
  rollback: `Usage: incident-flows rollback --service NAME [--mode quick|full] [--to-revision FAMILY:REV] [options]

Starts the Rollback Procedure: quick (the revision before the current deployment, or the one
named) or full (restore the pre-deployment backup).

Options:
  --mode quick|full     quick (default) or full
  --to-revision FAMILY:REV   quick only: the revision to go back to
  --deployment NAME     full only: the deploy execution whose backup to restore (default: the latest)
  --require-approval    a person approves first
  --health-url URL      the health URL the verify step GETs
  --smoke URL           a smoke check (repeatable, up to 10)
  --cluster NAME        the ECS cluster (default: the stack's)
  --reason TEXT         why, recorded with the rollback
  --name NAME           the execution's name
  --dry-run             plan the change, make none (waits)
  --wait                follow the execution to its end (progress on stderr)
  --wait-minutes N      how long --wait waits: whole minutes from 1 to 1440 (default 120)
  --json                the result as JSON on stdout

${CONNECTION_HELP}

${WAIT_EXIT_CODES}
`,
};

/** The version in package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** `--help` or `-h` among a command's arguments (before a `--`): a person asking, not a typo. */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Exit codes: 0 ok, 1 the workflow, the drill's outcome or AWS said no, 2 bad usage or input,
 * 3 --wait gave up while the execution still runs.
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(COMMAND_HELP, command) && asksForHelp(rest)) {
    process.stdout.write(COMMAND_HELP[command]!);
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
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      if (topic === undefined || topic === '--help' || topic === '-h') {
        process.stdout.write(USAGE);
        return 0;
      }
      if (!Object.hasOwn(COMMAND_HELP, topic)) {
        process.stderr.write(`incident-flows help: no command "${printable(topic)}" — one of ${Object.keys(COMMAND_HELP).join(', ')}\n`);
        return 2;
      }
      process.stdout.write(COMMAND_HELP[topic]!);
      return 0;
    }
    case undefined:
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

/**
 * Whether the module at `moduleUrl` is the script Node was started with (`argv1`, i.e.
 * process.argv[1]). Compares file paths, not strings: a URL encodes a space as %20 (so
 * `file://${argv1}` never matches in a folder with a space), and a symlinked checkout or bin
 * resolves to the real file.
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

if (isEntryPoint(import.meta.url, process.argv[1])) void runCli(process.argv.slice(2));
