import { writeSync } from 'node:fs';
import pino, { type Logger as PinoLogger } from 'pino';
import { KeyScrubber } from '../lib/index.js';

/**
 * The server's pino logger: JSON lines, credentials redacted by path, and any
 * pool key that might slip into a message string replaced, as a second line
 * of defence (the balancer itself only ever logs labels).
 */
/** Each logger's scrubber, so keys added at runtime are scrubbed from its lines too. */
const scrubbers = new WeakMap<object, KeyScrubber>();

/** Adds secrets (keys loaded on a reload) to what `logger` scrubs from message strings. */
export function addLoggerSecrets(logger: PinoLogger, secrets: readonly string[]): void {
  const scrubber = scrubbers.get(logger);
  for (const secret of secrets) scrubber?.add(secret);
}

/** Stops scrubbing secrets that are no longer in use (keys removed by a reload). */
export function forgetLoggerSecrets(logger: PinoLogger, secrets: readonly string[]): void {
  const scrubber = scrubbers.get(logger);
  for (const secret of secrets) scrubber?.remove(secret);
}

export function createLogger(level: string, keys: readonly string[], destination?: pino.DestinationStream): PinoLogger {
  const scrubber = new KeyScrubber(keys);
  const logger = pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'headers["x-api-key"]',
          '*.headers["x-api-key"]',
          'api_keys',
          '*.api_keys',
          'access_tokens',
          'admin_token',
          'key_secret',
        ],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((arg: unknown) => (typeof arg === 'string' ? scrubber.scrub(arg) : arg));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination ?? stdoutLines(),
  );
  scrubbers.set(logger, scrubber);
  return logger;
}

/**
 * Standard output, written synchronously, that stops at the first EPIPE: when
 * the log reader is gone, pino's own destination retries the write forever
 * (every 100 ms, blocking the event loop), and the server could not shut down.
 */
export function stdoutLines(fd = 1): pino.DestinationStream {
  let broken = false;
  return {
    write(line: string) {
      if (broken) return;
      const bytes = Buffer.from(line);
      let written = 0;
      for (let tries = 0; tries < 3 && written < bytes.length; tries++) {
        try {
          written += writeSync(fd, bytes, written);
          tries = -1;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // A full non-blocking pipe: try twice more, then drop the line rather than stall requests.
          if (code === 'EAGAIN') continue;
          broken = true;
          return;
        }
      }
    },
  };
}
