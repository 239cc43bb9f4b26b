import { writeSync } from 'node:fs';
import pino, { type Logger as PinoLogger } from 'pino';
import { KeyScrubber } from '../lib/upstream/scrub.js';

/**
 * The server's pino logger: JSON lines, credentials redacted by path, and any
 * secret that might slip into a message string replaced, as a second line of
 * defence (the balancer itself only ever logs labels): the tokens given here
 * (access and admin tokens) by the logger's own scrubber, and the pool keys by
 * the balancer's (`scrubLoggerWith`), which follows every change of the pool
 * without a second index of 100,000 keys.
 */
/** Each logger's extra scrubbing: the balancer's, once it exists (a child logger shares its parent's). */
const poolScrubbers = new WeakMap<object, { scrub?: (text: string) => string }>();

/** Has `logger` also scrub message strings with `scrub` (the balancer's: `balancer.scrub`). */
export function scrubLoggerWith(logger: PinoLogger, scrub: (text: string) => string): void {
  const holder = poolScrubbers.get(logger);
  if (holder) holder.scrub = scrub;
}

export function createLogger(
  level: string,
  secrets: readonly string[],
  destination?: pino.DestinationStream,
): PinoLogger {
  const scrubber = new KeyScrubber(secrets);
  const pool: { scrub?: (text: string) => string } = {};
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
          const clean = args.map((arg: unknown) => {
            if (typeof arg !== 'string') return arg;
            const text = scrubber.scrub(arg);
            return pool.scrub ? pool.scrub(text) : text;
          });
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination ?? stdoutLines(),
  );
  poolScrubbers.set(logger, pool);
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
