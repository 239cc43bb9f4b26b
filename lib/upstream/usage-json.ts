// Reads the top-level `usage` of a JSON answer as it passes, in constant
// memory whatever the body's size: the body is followed structurally (depth,
// strings, the keys of the top-level object) chunk by chunk, and only the
// bytes of a top-level `usage` value are kept (up to a limit), then parsed
// when it ends. A `usage` nested anywhere else, or named inside a string, is
// never taken. Strings, most of a big answer, are crossed with a native search
// for the next quote. Nothing is validated: a malformed body gives whatever
// `usage` it held whole, or none.
import type { UsageCounts } from './token-usage.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** A key longer than this (raw, escapes included) is not `usage`, however it is escaped. */
const MAX_KEY_BYTES = 64;
const USAGE = 'usage';

/** Bytes that matter outside strings: quotes, brackets, and at the top level commas and colons. */
const STRUCTURAL = new Uint8Array(256);
for (const c of '"{}[],:') STRUCTURAL[c.charCodeAt(0)] = 1;

export class JsonUsageReader {
  private depth = 0;
  private inString = false;
  /** The last chunk ended inside a string on an odd run of backslashes: the next byte is escaped. */
  private escapeNext = false;
  private topIsObject = false;
  private done = false;
  /** At depth 1, whether the next string is a key. */
  private expectingKey = false;
  /** The key being read (raw bytes, in pieces across chunks), or undefined when not in a top-level key. */
  private key: Buffer[] | undefined;
  private keyBytes = 0;
  private lastKeyIsUsage = false;
  /** The `usage` value being kept (pieces across chunks), or undefined when not in one. */
  private value: Buffer[] | undefined;
  private valueBytes = 0;

  /** `maxUsageBytes`: the largest `usage` value kept; a larger one is skipped. */
  constructor(
    private readonly counts: UsageCounts,
    private readonly maxUsageBytes: number,
  ) {}

  push(chunk: Buffer): void {
    if (this.done) return;
    let i = 0;
    let keyFrom = 0;
    let valueFrom = 0;
    if (this.inString && this.escapeNext && chunk.length > 0) {
      this.escapeNext = false;
      i = 1;
    }
    const n = chunk.length;
    while (i < n) {
      if (this.inString) {
        const quote = chunk.indexOf(QUOTE, i);
        if (quote === -1) {
          this.escapeNext = trailingBackslashes(chunk, i, n) % 2 === 1;
          break;
        }
        if (trailingBackslashes(chunk, i, quote) % 2 === 1) {
          i = quote + 1;
          continue;
        }
        this.inString = false;
        if (this.key) this.endKey(chunk.subarray(keyFrom, quote));
        i = quote + 1;
        continue;
      }
      while (i < n && STRUCTURAL[chunk[i]] === 0) i++;
      if (i === n) break;
      const c = chunk[i];
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectingKey) {
          this.key = [];
          this.keyBytes = 0;
          keyFrom = i + 1;
        }
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 0) {
          this.topIsObject = c === 0x7b;
          this.expectingKey = this.topIsObject;
        }
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          // The top-level value is whole: nothing after it is read.
          if (this.value) this.endValue(chunk.subarray(valueFrom, i));
          this.done = true;
          return;
        }
      } else if (this.depth === 1 && this.topIsObject) {
        if (c === 0x2c) {
          if (this.value) this.endValue(chunk.subarray(valueFrom, i));
          this.expectingKey = true;
        } else if (this.lastKeyIsUsage) {
          // The colon after the key `usage`: its value starts here.
          this.lastKeyIsUsage = false;
          this.value = [];
          this.valueBytes = 0;
          valueFrom = i + 1;
        }
      }
      i++;
    }
    // The chunk ends inside a key or the usage value: keep its piece, not the chunk.
    if (this.key && this.inString) this.keepKey(chunk.subarray(keyFrom));
    if (this.value) this.keepValue(chunk.subarray(valueFrom));
  }

  /** The end of the body: a `usage` value still open (a body cut short) is not read. */
  end(): void {
    this.done = true;
    this.key = undefined;
    this.value = undefined;
  }

  private keepKey(piece: Buffer): void {
    const key = this.key as Buffer[];
    this.keyBytes += piece.length;
    if (this.keyBytes <= MAX_KEY_BYTES) key.push(Buffer.from(piece));
  }

  private endKey(piece: Buffer): void {
    this.keepKey(piece);
    const raw = this.keyBytes <= MAX_KEY_BYTES ? Buffer.concat(this.key as Buffer[]) : undefined;
    this.key = undefined;
    this.expectingKey = false;
    this.lastKeyIsUsage = raw !== undefined && keyIsUsage(raw);
  }

  private keepValue(piece: Buffer): void {
    this.valueBytes += piece.length;
    if (this.valueBytes > this.maxUsageBytes) this.value = undefined;
    else (this.value as Buffer[]).push(Buffer.from(piece));
  }

  private endValue(piece: Buffer): void {
    const parts = this.value as Buffer[];
    this.value = undefined;
    this.valueBytes += piece.length;
    if (this.valueBytes > this.maxUsageBytes) return;
    parts.push(piece);
    try {
      const usage: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
      // JSON.parse keeps the last of two top-level `usage` members, whole: so does this.
      this.counts.clear();
      this.counts.merge(usage);
    } catch {
      // A malformed value counts nothing.
    }
  }
}

/** How many backslashes end bytes [from, to) of `chunk`. */
function trailingBackslashes(chunk: Buffer, from: number, to: number): number {
  let at = to;
  while (at > from && chunk[at - 1] === BACKSLASH) at--;
  return to - at;
}

function keyIsUsage(raw: Buffer): boolean {
  if (!raw.includes(BACKSLASH)) return raw.length === USAGE.length && raw.toString('latin1') === USAGE;
  try {
    return JSON.parse(`"${raw.toString('utf8')}"`) === USAGE;
  } catch {
    return false;
  }
}
