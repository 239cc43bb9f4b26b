// Removes every 12-character piece of a pool key from what an upstream sends
// back (bodies of any status, streams, headers) before a client or a log sees
// it. JSON escapes (`\u002d`, `\/`) are read as the characters they stand for.
// In a stream, redactions keep the length of what they replace, so a
// Content-Length stays true and chunks need no re-framing; a body read whole
// gets a plain `[redacted]`. A piece is 12 characters: nothing shorter is
// ever matched, so no key can make the scrubber eat ordinary text.
import { KeyPieces, PIECE_LENGTH, rollHash } from './key-pieces.js';

export { PIECE_LENGTH };

const HEX = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES: Record<number, number> = {
  0x22: 0x22,
  0x5c: 0x5c,
  0x2f: 0x2f,
  0x62: 8,
  0x66: 12,
  0x6e: 10,
  0x72: 13,
  0x74: 9,
};

/** A text decoded for matching: one ASCII code per character and where each starts in the raw bytes. */
interface Decoded {
  codes: Uint8Array;
  starts: Int32Array;
  length: number;
  /** Raw bytes at the end that may be the start of an escape cut by a chunk boundary. */
  incompleteTail: number;
}

export class KeyScrubber {
  private readonly pieces: KeyPieces;

  constructor(keys: readonly string[]) {
    this.pieces = new KeyPieces(keys);
  }

  /** Adds a key's pieces (keys added at runtime are scrubbed from then on); one under 12 characters is ignored. */
  add(key: string): void {
    this.pieces.add(key);
  }

  /** Whether the key's pieces are redacted. */
  has(key: string): boolean {
    return this.pieces.has(key);
  }

  /** Makes room for `keys` more keys now, so adding them one by one never stops to grow the index. */
  reserve(keys: readonly string[]): void {
    let pieces = 0;
    for (const key of keys) pieces += Math.max(0, key.length - PIECE_LENGTH + 1);
    this.pieces.reserve(pieces);
  }

  /** Forgets a key (removed from the pool, with no request left on it): its pieces are no longer redacted. */
  remove(key: string): void {
    this.pieces.remove(key);
  }

  /** Whether `text` (a label, an account name) holds a 12-character piece of a key. */
  holdsPiece(text: string): boolean {
    return this.pieces.holdsPiece(text);
  }

  scrub(text: string): string {
    if (!this.textMayContainPiece(text)) return text;
    const raw = Buffer.from(text, 'utf8');
    const clean = this.scrubBuffer(raw);
    return clean === raw ? text : clean.toString('utf8');
  }

  /**
   * Whether `raw` could hold a piece at all: a piece needs 12 key characters in
   * a row (or a JSON escape). Every run of 12 covers one of the bytes at 11,
   * 23, 35 …, so only those are read until one is a key character, and then
   * only the run around it: most bodies and headers are ruled out reading a
   * twelfth of their bytes, with no allocation. A client that stops reading a
   * fast stream makes the balancer push megabytes into its socket buffers, and
   * this check was most of what each byte cost.
   */
  mayContainPiece(raw: Buffer): boolean {
    if (raw.indexOf(0x5c) !== -1) return true;
    const { pieces } = this;
    for (let at = PIECE_LENGTH - 1; at < raw.length; at += PIECE_LENGTH) {
      if (!pieces.isKeyCode(raw[at])) continue;
      let start = at;
      while (start > 0 && pieces.isKeyCode(raw[start - 1])) start--;
      let end = at + 1;
      while (end < raw.length && pieces.isKeyCode(raw[end])) end++;
      if (end - start >= PIECE_LENGTH) return true;
      // The next run starts after `end`: the grid goes on from there.
      at = end;
    }
    return false;
  }

  /** `mayContainPiece` for a string (a header value, a log field): most pass without being encoded at all. */
  private textMayContainPiece(text: string): boolean {
    if (text.includes('\\')) return true;
    const { pieces } = this;
    for (let at = PIECE_LENGTH - 1; at < text.length; at += PIECE_LENGTH) {
      if (!pieces.isKeyCode(text.charCodeAt(at))) continue;
      let start = at;
      while (start > 0 && pieces.isKeyCode(text.charCodeAt(start - 1))) start--;
      let end = at + 1;
      while (end < text.length && pieces.isKeyCode(text.charCodeAt(end))) end++;
      if (end - start >= PIECE_LENGTH) return true;
      at = end;
    }
    return false;
  }

  /** The body with every key piece redacted; the same Buffer when there was nothing to redact. */
  scrubBuffer(body: Buffer): Buffer {
    if (!this.mayContainPiece(body)) return body;
    const decoded = decode(body, false);
    const ranges = this.find(decoded, body.length);
    return ranges.length === 0 ? body : redactWhole(body, ranges);
  }

  /** A scrubber for one streamed body: feed it chunks, send what it returns. */
  stream(): StreamScrub {
    return new StreamScrub(this);
  }

  /** Raw byte ranges [start, end) covered by matched pieces, merged. */
  find(decoded: Decoded, rawLength: number): Array<[number, number]> {
    const ranges: Array<[number, number]> = [];
    const { codes, starts, length } = decoded;
    const { pieces } = this;
    let run = 0;
    let hash = 0;
    for (let i = 0; i < length; i++) {
      const code = codes[i];
      if (!pieces.isKeyCode(code)) {
        run = 0;
        hash = 0;
        continue;
      }
      hash = rollHash(hash, code, run >= PIECE_LENGTH ? codes[i - PIECE_LENGTH] : undefined);
      run++;
      if (run < PIECE_LENGTH || !pieces.matches(hash, codes, i + 1 - PIECE_LENGTH)) continue;
      const start = starts[i + 1 - PIECE_LENGTH];
      const end = i + 1 < length ? starts[i + 1] : rawLength - decoded.incompleteTail;
      addRange(ranges, start, end);
    }
    return ranges;
  }

  /** Whether the ASCII code occurs in some key. */
  isKeyCode(code: number): boolean {
    return this.pieces.isKeyCode(code);
  }
}

const NOTHING = Buffer.alloc(0);

/**
 * Scrubs a body that arrives in chunks. Only the last few bytes of a chunk
 * can be the start of a piece that ends in the next one, and only when they
 * are key characters: those are held back, so an SSE event (which ends in a
 * newline) goes out whole and at once.
 */
export class StreamScrub {
  private pending: Buffer = NOTHING;
  /** How many of the pending bytes are already known to be part of a piece. */
  private pendingRedacted = 0;

  constructor(private readonly scrubber: KeyScrubber) {}

  push(chunk: Buffer): Buffer {
    // The common case: nothing held back and no run of key characters, so the chunk goes out as it came.
    if (this.pending.length === 0 && !this.scrubber.mayContainPiece(chunk) && !this.endsInKeyCharacter(chunk))
      return chunk;
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const decoded = decode(data, true);
    const held = heldBack(decoded, data.length, this.scrubber);
    return this.emit(data, decoded, data.length - held);
  }

  private endsInKeyCharacter(chunk: Buffer): boolean {
    const last = chunk[chunk.length - 1];
    return last !== undefined && last < 128 && this.scrubber.isKeyCode(last);
  }

  /** The end of the body: whatever was held back. */
  end(): Buffer {
    if (this.pending.length === 0) return this.pending;
    const data = this.pending;
    return this.emit(data, decode(data, false), data.length);
  }

  private emit(data: Buffer, decoded: Decoded, cut: number): Buffer {
    const ranges = this.scrubber.find(decoded, data.length);
    if (this.pendingRedacted > 0) ranges.unshift([0, this.pendingRedacted]);
    const out = ranges.length === 0 ? data.subarray(0, cut) : redact(data, ranges, 0, cut);
    this.pending = Buffer.from(data.subarray(cut));
    this.pendingRedacted = 0;
    for (const [start, end] of ranges)
      if (end > cut) this.pendingRedacted = Math.max(this.pendingRedacted, end - Math.max(start, cut));
    return out;
  }
}

function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  const last = ranges[ranges.length - 1];
  if (last && start <= last[1]) last[1] = Math.max(last[1], end);
  else ranges.push([start, end]);
}

function heldBack(decoded: Decoded, rawLength: number, scrubber: KeyScrubber): number {
  const { codes, starts, length } = decoded;
  let chars = 0;
  while (chars < PIECE_LENGTH - 1 && chars < length && scrubber.isKeyCode(codes[length - 1 - chars])) chars++;
  return chars === 0 ? decoded.incompleteTail : rawLength - starts[length - chars];
}

/** Reads raw bytes as characters, with JSON escapes decoded; non-ASCII bytes become 0 (never a key character). */
function decode(raw: Buffer, streaming: boolean): Decoded {
  const codes = new Uint8Array(raw.length);
  const starts = new Int32Array(raw.length);
  let length = 0;
  let incompleteTail = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    starts[length] = i;
    if (byte !== 0x5c) {
      codes[length++] = byte < 128 ? byte : 0;
      continue;
    }
    const next = raw[i + 1];
    if (next === undefined) {
      if (streaming) incompleteTail = 1;
      codes[length++] = 0;
      continue;
    }
    if (next === 0x75) {
      if (i + 6 > raw.length && streaming) {
        incompleteTail = raw.length - i;
        codes[length++] = 0;
        break;
      }
      const hex = raw.toString('latin1', i + 2, i + 6);
      if (HEX.test(hex)) {
        const value = parseInt(hex, 16);
        codes[length++] = value < 128 ? value : 0;
        i += 5;
        continue;
      }
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      codes[length++] = simple;
      i += 1;
      continue;
    }
    codes[length++] = byte;
  }
  if (incompleteTail > 0 && length > 0) length--;
  return { codes, starts, length, incompleteTail };
}

/** A whole body (its length may change): each range becomes `[redacted]`. */
function redactWhole(raw: Buffer, ranges: ReadonlyArray<[number, number]>): Buffer {
  const parts: Buffer[] = [];
  let copied = 0;
  for (const [start, end] of ranges) {
    parts.push(raw.subarray(copied, start), REDACTED);
    copied = end;
  }
  parts.push(raw.subarray(copied));
  return Buffer.concat(parts);
}

const REDACTED = Buffer.from('[redacted]');

/** Copies `raw[from, to)` of a stream with each range overwritten by a same-length `[redacted…]` mark. */
function redact(raw: Buffer, ranges: ReadonlyArray<[number, number]>, from: number, to: number): Buffer {
  const out = Buffer.from(raw.subarray(from, to));
  for (const [rangeStart, rangeEnd] of ranges) {
    const start = Math.max(rangeStart, from) - from;
    const end = Math.min(rangeEnd, to) - from;
    if (end <= start) continue;
    out.fill(0x2a, start, end);
    if (end - start >= 10) {
      out.write('[redacted', start, 'latin1');
      out[end - 1] = 0x5d;
    }
  }
  return out;
}
