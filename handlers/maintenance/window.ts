import * as z from 'zod';

/**
 * The team's weekly maintenance window, when P2's scheduled fixes are made (runbook › P2 › "Address
 * during next maintenance window"). Configured in the stack (infra/config.ts `maintenanceWindow`);
 * the default is Sunday 02:00–04:00 UTC, the quietest hours of most weeks.
 */
export const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

export const maintenanceWindowSchema = z
  .object({
    day: z.enum(DAYS).default('sunday').describe('a day of the week in lowercase, e.g. "sunday"'),
    startUtc: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM in UTC, e.g. "02:00"')
      .default('02:00'),
    durationMinutes: z.number().int().min(15).max(24 * 60).default(120),
  })
  .strict();

export type MaintenanceWindow = z.output<typeof maintenanceWindowSchema>;

export interface WindowSlot {
  start: string;
  end: string;
  /** e.g. "Sunday 2026-11-29 02:00–04:00 UTC". */
  label: string;
}

/**
 * The first window that starts after `now`. A window already under way is not offered: a fix needs
 * preparing and announcing, so it goes to the next one.
 */
export function nextWindow(now: Date, w: MaintenanceWindow): WindowSlot {
  const [hh, mm] = w.startUtc.split(':').map(Number) as [number, number];
  const day = DAYS.indexOf(w.day);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hh, mm));
  start.setUTCDate(start.getUTCDate() + ((day - start.getUTCDay() + 7) % 7));
  if (start.getTime() <= now.getTime()) start.setUTCDate(start.getUTCDate() + 7);
  const end = new Date(start.getTime() + w.durationMinutes * 60_000);
  const name = w.day.charAt(0).toUpperCase() + w.day.slice(1);
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  return { start: start.toISOString(), end: end.toISOString(), label: `${name} ${start.toISOString().slice(0, 10)} ${hhmm(start)}–${hhmm(end)} UTC` };
}
