import pino, { type Logger as PinoLogger } from 'pino';
import { KeyScrubber } from '../lib/scrub.js';

/**
 * The server's pino logger: JSON lines, credentials redacted by path, and any
 * pool key that might slip into a message string replaced, as a second line
 * of defence (the balancer itself only ever logs labels).
 */
export function createLogger(level: string, keys: readonly string[], destination?: pino.DestinationStream): PinoLogger {
  const scrubber = new KeyScrubber(keys);
  return pino({
    level,
    base: undefined,
    redact: {
      paths: [
        'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
        'headers["x-api-key"]', '*.headers["x-api-key"]', 'api_keys', '*.api_keys', 'access_tokens', 'admin_token', 'key_secret',
      ],
      censor: '[redacted]',
    },
    hooks: {
      logMethod(args, method) {
        const clean = args.map((arg: unknown) => (typeof arg === 'string' ? scrubber.scrub(arg) : arg));
        method.apply(this, clean as Parameters<typeof method>);
      },
    },
  }, destination);
}
