/** The local host's own log: one line per event, level-filtered by LONGHAUL_LOG_LEVEL (default info). */
export interface HostLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

export function createLogger(prefix = 'host', level: string = process.env.LONGHAUL_LOG_LEVEL ?? 'info'): HostLogger {
  const threshold = LEVELS[(level in LEVELS ? level : 'info') as Level];
  const write = (lvl: Exclude<Level, 'silent'>, message: string): void => {
    if (LEVELS[lvl] < threshold) return;
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} [${prefix}] ${message}\n`;
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
