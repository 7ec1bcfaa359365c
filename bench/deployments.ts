/**
 * `npm run bench:deployments`: the figures issue 10 asks for, measured on this machine with the
 * drills themselves — for each deploy drill fault and each rollback mode: outcome, state
 * transitions, simulated seconds, and (for a bad revision) the seconds from its first sign of
 * failure (a failed task, a failing health check, the alarm) to the rollback's start.
 * Writes .bench/deployments.json as well as printing a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DEPLOY_DRILL_FAULTS, planDeploymentDrill, ROLLBACK_DRILL_MODES, runDeploymentDrill } from '../cli/drill-deploy.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const rows: Record<string, unknown>[] = [];
for (const fault of Object.keys(DEPLOY_DRILL_FAULTS)) {
  const r = await runDeploymentDrill(planDeploymentDrill('deploy', { fault }));
  rows.push({ drill: `deploy --fault ${fault}`, outcome: r.outcome, passed: r.passed, transitions: r.transitions, simulatedSeconds: r.simulatedSeconds, failureToRollbackSeconds: r.failureToRollbackSeconds ?? null, revision: `${r.revisionBefore} → ${r.revisionAfter}`, wallMillis: r.wallMillis });
}
for (const mode of Object.keys(ROLLBACK_DRILL_MODES)) {
  const r = await runDeploymentDrill(planDeploymentDrill('rollback', { mode }));
  rows.push({ drill: `rollback --mode ${mode}`, outcome: r.outcome, passed: r.passed, transitions: r.transitions, simulatedSeconds: r.simulatedSeconds, failureToRollbackSeconds: null, revision: `${r.revisionBefore} → ${r.revisionAfter}`, wallMillis: r.wallMillis });
}
console.table(rows);
mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/deployments.json', `${JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2)}\n`);
if (rows.some((r) => r.passed !== true)) process.exitCode = 1;
