/**
 * @example/logger: leveled, structured logging. Each call below the logger's level is dropped; each other call
 * becomes one `LogRecord` handed to the sink, with a one-line `text` ready to print.
 * @packageDocumentation
 */

/** The levels, from the most verbose to the most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** One of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra data logged with a message: printed as `key=value` after it, in insertion order. */
export type LogFields = Readonly<Record<string, unknown>>;

/** What one log call produces. */
export interface LogRecord {
  /** The level it was logged at. */
  readonly level: LogLevel;
  /** The message as given. */
  readonly message: string;
  /** The fields as given (an empty object when none). */
  readonly fields: LogFields;
  /** When it was logged, as an ISO 8601 string. */
  readonly time: string;
  /** The record as one line: `INFO user signed in id="u1"` (no time, so it is stable in tests). */
  readonly text: string;
}

/** Receives every record at or above the logger's level. */
export type LogSink = (record: LogRecord) => void;

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** The least severe level written; calls below it are dropped. Default `info`. */
  readonly level?: LogLevel;
  /** Where records go. Default: each record's `text`, prefixed with its time, on stdout (stderr for warn and error). */
  readonly sink?: LogSink;
  /** The clock records are stamped with. Default `() => new Date()`. */
  readonly clock?: () => Date;
}

/** A logger: one method per level. */
export interface Logger {
  /** The least severe level this logger writes. */
  readonly level: LogLevel;
  /** Logs at `debug`. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at `info`. */
  info(message: string, fields?: LogFields): void;
  /** Logs at `warn`. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at `error`. */
  error(message: string, fields?: LogFields): void;
}

/** Whether `value` names a level: for checking a level read from configuration or the environment. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** The one-line form of a record: the level in capitals, the message, then each field as `key=<JSON>`. */
export function formatRecord(level: LogLevel, message: string, fields: LogFields = {}): string {
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${JSON.stringify(value) ?? String(value)}`);
  return [level.toUpperCase(), message, ...parts].join(' ');
}

function consoleSink(record: LogRecord): void {
  const line = `${record.time} ${record.text}`;
  if (record.level === 'warn' || record.level === 'error') {
    console.error(line);
  } else {
    console.log(line);
  }
}

/**
 * Creates a logger writing records at or above `level` to `sink`.
 * @throws RangeError when `level` is not one of `LOG_LEVELS`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = 'info', sink = consoleSink, clock = () => new Date() } = options;
  if (!isLogLevel(level)) {
    throw new RangeError(`createLogger: level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (at: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(at) < threshold) {
      return;
    }
    sink({ level: at, message, fields, time: clock().toISOString(), text: formatRecord(at, message, fields) });
  };
  return { level, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
