/** One JSON line per entry, as CloudWatch Logs Insights likes it. Never pass secrets in `data`. */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;
type Level = keyof typeof LEVELS;

export function createLogger(handler: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const threshold = LEVELS[(level as Level) in LEVELS ? (level as Level) : 'info'];
  const write = (lvl: Exclude<Level, 'silent' | 'debug'>, message: string, data?: Record<string, unknown>) => {
    if (LEVELS[lvl] < threshold) return;
    process.stdout.write(`${JSON.stringify({ level: lvl, handler, message, ...data })}\n`);
  };
  return {
    info: (m, d) => write('info', m, d),
    warn: (m, d) => write('warn', m, d),
    error: (m, d) => write('error', m, d),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
