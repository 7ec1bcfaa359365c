import { describe, expect, test } from 'vitest';
import { runDrill } from '../../cli/drill.ts';
import { planDrill } from '../../cli/drill-scenario.ts';
import { renderDrill } from '../../cli/render.ts';

describe('drill p0 --approval: the drill plays the people with signed Slack clicks', () => {
  test('late: on-call silent, the team lead approves 15 min in; recovered, approvals listed', async () => {
    const report = await runDrill(planDrill({ approval: 'late' }));
    expect(report).toMatchObject({ outcome: 'recovered', passed: true, approval: 'late' });
    expect(report.approvals).toEqual([
      // 15 min after the request, which AWS's latencies put a few seconds after 03:18 (sandbox/latency.ts).
      { tier: 'on-call', decision: 'unanswered', by: null, at: expect.stringMatching(/^2026-11-28T03:18:0/) },
      { tier: 'team-lead', decision: 'approved', by: 'lee.lead', at: expect.stringMatching(/^2026-11-28T03:19/) },
    ]);
    expect(renderDrill(report)).toMatch(/team-lead\s+approved by lee\.lead/);
    // The incident's audit trail names who approved, not only the approvals table.
    expect(report.report).toMatch(/## Approvals[\s\S]*approved[^\n]*lee\.lead/);
  });

  test('reject: outcome rejected, no change made to the service', async () => {
    const report = await runDrill(planDrill({ approval: 'reject' }));
    expect(report).toMatchObject({ outcome: 'rejected', expectedOutcome: 'rejected', passed: true, mutatingCalls: 0 });
    expect(report.approvals).toEqual([{ tier: 'on-call', decision: 'rejected', by: 'ona.oncall', at: expect.any(String) }]);
    expect(report.desiredAfter).toBe(report.desiredBefore);
  });

  test('an unknown --approval value is refused with the choices', () => {
    expect(() => planDrill({ approval: 'maybe' })).toThrow(/use one of: approve, reject, none, late/);
  });
});
