/**
 * The logger hook: any object with some of debug/info/warn/error taking (fields, message), which
 * is pino's signature (a pino logger, or a child of one, fits as it is) and which console
 * accepts too (it prints the fields, then the message).
 */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

export interface Logger {
  debug?: LogMethod;
  info?: LogMethod;
  warn?: LogMethod;
  error?: LogMethod;
}

export type LogLevel = keyof Logger;

/** A logger to call without checks: missing levels do nothing, and a logger that throws never breaks the client. */
export function safeLogger(logger: Logger | undefined): Required<Logger> {
  const level =
    (name: LogLevel): LogMethod =>
    (fields, message) => {
      const method = logger?.[name];
      if (typeof method !== 'function') return;
      try {
        method.call(logger, fields, message);
      } catch {
        // A broken logger must not take the producer down with it.
      }
    };
  return { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') };
}
