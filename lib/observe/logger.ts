// The logger the balancer writes to. The option asks only for what it uses: each of debug, info, warn and error is
// optional (a level the given logger lacks is simply not written), so pino, console or a two-method adapter work.

type LogMethod = (obj: object, msg?: string) => void;

/** A logger with every level the balancer writes: the given one, its missing levels filled with no-ops. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** The levels the balancer writes at. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** What the `logger` option takes: a pino-style logger, each method optional. */
export type LoggerOption = Partial<Logger>;

const noop = (): void => {};

/** A logger that drops everything: the default, so a library stays quiet unless asked. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** An object with at least one log method, and no level that is not a function (`{}` is surely a mistake). */
export function isLoggerOption(value: unknown): value is LoggerOption {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    LOG_LEVELS.some((level) => typeof candidate[level] === 'function') &&
    LOG_LEVELS.every((level) => candidate[level] === undefined || typeof candidate[level] === 'function')
  );
}

/** The given logger with every level: itself when it has them all (pino keeps its own methods), else a wrapper. */
export function completeLogger(given: LoggerOption | undefined): Logger {
  if (!given) return silentLogger;
  if (LOG_LEVELS.every((level) => typeof given[level] === 'function')) return given as Logger;
  const level = (name: (typeof LOG_LEVELS)[number]): LogMethod => {
    const method = given[name];
    return method ? (obj, msg) => method.call(given, obj, msg) : noop;
  };
  return { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') };
}

/** Whether `logger` has `level` at all (the silent logger, or one given without it, has not). */
export function hasLevel(logger: Logger, level: (typeof LOG_LEVELS)[number]): boolean {
  return logger[level] !== noop;
}

/** Whether `logger` writes `level` now: never for a level it lacks; pino's own answer when it can tell. */
export function writesLevel(logger: Logger, level: (typeof LOG_LEVELS)[number]): boolean {
  if (!hasLevel(logger, level)) return false;
  const levelCheck = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof levelCheck === 'function' ? levelCheck.call(logger, level) : true;
}
