// Token usage read from an upstream answer while it is relayed: the relay
// hands every chunk to `push` as it forwards it and calls `end` when the
// answer is complete, then asks `usage()`. The tap never holds a chunk back
// and copies only what it needs: the start of an SSE line a chunk ends in, or
// the bytes of a JSON body's top-level `usage` value. Memory is bounded by the
// limits below whatever the answer's size; malformed input gives undefined,
// never an exception.
import { type TokenUsage, UsageCounts } from './token-usage.js';
import { JsonUsageReader } from './usage-json.js';
import { SseUsageReader } from './usage-sse.js';

export type { TokenUsage };

/** How an answer body is framed. */
export type AnswerFormat = 'sse' | 'json';

export interface UsageTapOptions {
  /**
   * The answer's framing, from its content type (see `answerFormat`). Undefined: told from the first byte that is
   * not whitespace, which is reliable (a JSON body starts with `{` or `[`, an event stream never does). Defaults to
   * undefined.
   */
  format?: AnswerFormat;
  /**
   * The longest SSE line read, and the most data one event may carry, in bytes: a longer line is skipped (and its
   * event not read), without being held. Defaults to 1 MiB.
   */
  maxLineBytes?: number;
  /**
   * The largest top-level `usage` value read from a JSON body, in bytes; a larger one is skipped. The body itself may
   * be of any size: only that value is kept. Defaults to 64 KiB.
   */
  maxUsageBytes?: number;
}

const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const DEFAULT_MAX_USAGE_BYTES = 64 * 1024;

/** The framing a content type names: `sse` for `text/event-stream`, `json` for any JSON type, else undefined. */
export function answerFormat(contentType: string | undefined): AnswerFormat | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  return undefined;
}

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`UsageTap: ${name} must be a whole number of bytes, at least 1; got ${String(value)}.`);
  }
  return value;
}

/**
 * Reads the token usage of one answer, OpenAI's or Anthropic's, JSON or SSE, as it passes: `push` each chunk in
 * order, `end()` once, then `usage()`. `usage()` may also be asked before the end (an answer cut short): it gives what
 * has been read whole so far.
 */
export class UsageTap {
  private readonly counts = new UsageCounts();
  private reader: JsonUsageReader | SseUsageReader | undefined;
  private readonly maxLineBytes: number;
  private readonly maxUsageBytes: number;
  private ended = false;

  constructor(options: UsageTapOptions = {}) {
    this.maxLineBytes = checkLimit('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
    this.maxUsageBytes = checkLimit('maxUsageBytes', options.maxUsageBytes, DEFAULT_MAX_USAGE_BYTES);
    if (options.format !== undefined && options.format !== 'sse' && options.format !== 'json') {
      throw new RangeError(`UsageTap: format must be 'sse', 'json' or undefined (to detect); got ${options.format}.`);
    }
    if (options.format) this.reader = this.readerFor(options.format);
  }

  /** Reads a chunk of the (decoded) body. The chunk is not kept and not changed. */
  push(chunk: Buffer): void {
    if (this.ended) return;
    if (!this.reader) {
      const first = firstNonWhitespace(chunk);
      // Only whitespace so far: nothing to read in it, whatever the framing.
      if (first === undefined) return;
      this.reader = this.readerFor(first === 0x7b || first === 0x5b ? 'json' : 'sse');
    }
    this.reader.push(chunk);
  }

  /** The answer is complete. Later chunks are ignored. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.reader?.end();
  }

  /** The tokens the answer reported, or undefined when it reported none (or none could be read). */
  usage(): TokenUsage | undefined {
    return this.counts.usage();
  }

  private readerFor(format: AnswerFormat): JsonUsageReader | SseUsageReader {
    return format === 'json'
      ? new JsonUsageReader(this.counts, this.maxUsageBytes)
      : new SseUsageReader(this.counts, this.maxLineBytes);
  }
}

function firstNonWhitespace(chunk: Buffer): number | undefined {
  for (const byte of chunk) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  return undefined;
}
