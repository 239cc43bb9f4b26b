// Every 12-character piece of every key, in an open-addressing hash table of
// typed arrays. Each slot holds a piece's 12 characters (three 32-bit words)
// and how many keys hold it, so keys that share pieces (test tokens, tokens of
// one shape) share slots. A key is added or forgotten in time linear in its
// length (28 probes for a ModelScope token), a lookup costs a few probes, and
// nothing in it is for the garbage collector to walk. Sorting every piece on
// each change instead (what this replaced) made key changes quadratic.
import { PIECE_LENGTH } from '../options/key-label.js';

export { PIECE_LENGTH };

const BASE = 0x01000193;
/** BASE to the power PIECE_LENGTH - 1: what the first character of a window weighs in its rolling hash. */
const BASE_POW = (() => {
  let power = 1;
  for (let i = 1; i < PIECE_LENGTH; i++) power = Math.imul(power, BASE);
  return power;
})();

/** The rolling hash after `code` joins a window whose hash is `hash` (and `leaving`, its first code, leaves it). */
export function rollHash(hash: number, code: number, leaving?: number): number {
  const rest = leaving === undefined ? hash : (hash - Math.imul(leaving, BASE_POW)) | 0;
  return (Math.imul(rest, BASE) + code) | 0;
}

/** Int32 fields per slot: the piece as three words of four characters, then the count of keys holding it. */
const STRIDE = 4;
const COUNT = 3;
const EMPTY = 0;
const DELETED = -1;
/** Grown (or cleaned of deleted slots) past this share of slots in use, so probes stay short. */
const MAX_LOAD = 0.7;

export class KeyPieces {
  private readonly keys = new Set<string>();
  /** How many indexed secrets hold each ASCII code: a match needs 12 codes in a row that some key holds. */
  private readonly codeCounts = new Int32Array(128);
  private slots = new Int32Array(0);
  private shift = 32;
  private live = 0;
  private deleted = 0;

  constructor(keys: Iterable<string> = []) {
    this.addAll(keys);
  }

  /** How many secrets are indexed. */
  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Indexes a secret's pieces; one shorter than a piece is never matched (it could occur by chance). */
  add(key: string): boolean {
    if (key.length < PIECE_LENGTH || this.keys.has(key)) return false;
    this.keys.add(key);
    for (let i = 0; i < key.length; i++) this.countCode(key.charCodeAt(i), 1);
    // Growing by half again: adding keys one by one costs amortised time linear in their length.
    if ((this.live + this.deleted + piecesOf(key)) / this.capacity > MAX_LOAD)
      this.resize((this.live + piecesOf(key)) * 1.5);
    this.visitPieces(key, 1);
    return true;
  }

  /** Indexes many secrets, the table sized for them all first (one resize instead of a dozen). */
  addAll(keys: Iterable<string>): void {
    const list = [...keys];
    let pieces = 0;
    for (const key of list) if (!this.keys.has(key)) pieces += piecesOf(key);
    this.reserve(pieces);
    for (const key of list) this.add(key);
  }

  /** Makes room for `pieces` more pieces now, so adding them later never stops to grow the table. */
  reserve(pieces: number): void {
    if ((this.live + this.deleted + pieces) / this.capacity > MAX_LOAD) this.resize(this.live + pieces);
  }

  /** Forgets a secret: pieces no other secret holds are matched no more. */
  remove(key: string): boolean {
    if (!this.keys.delete(key)) return false;
    this.visitPieces(key, -1);
    for (let i = 0; i < key.length; i++) this.countCode(key.charCodeAt(i), -1);
    if (this.deleted > this.capacity / 4) this.resize(this.live);
    return true;
  }

  /** Whether some secret holds the ASCII code. */
  isKeyCode(code: number): boolean {
    return code < 128 && this.codeCounts[code] !== 0;
  }

  /** Whether the 12 codes from `from`, whose rolling hash is `hash`, are a piece of some secret. */
  matches(hash: number, codes: Uint8Array, from: number): boolean {
    return this.find(hash, wordAt(codes, from), wordAt(codes, from + 4), wordAt(codes, from + 8)) >= 0;
  }

  /** Whether `text` (a label, a name) holds a piece of some secret. */
  holdsPiece(text: string): boolean {
    const codes = codesOf(text);
    let run = 0;
    let hash = 0;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i];
      if (!this.isKeyCode(code)) {
        run = 0;
        hash = 0;
        continue;
      }
      hash = rollHash(hash, code, run >= PIECE_LENGTH ? codes[i - PIECE_LENGTH] : undefined);
      run++;
      if (run >= PIECE_LENGTH && this.matches(hash, codes, i + 1 - PIECE_LENGTH)) return true;
    }
    return false;
  }

  private get capacity(): number {
    return this.slots.length / STRIDE;
  }

  private startOf(hash: number): number {
    return (Math.imul(hash, 0x9e3779b1) >>> this.shift) * STRIDE;
  }

  private countCode(code: number, change: number): void {
    if (code < 128) this.codeCounts[code] += change;
  }

  /** The slot holding the piece whose words are `w0`…`w2`, or -1. */
  private find(hash: number, w0: number, w1: number, w2: number): number {
    const { slots } = this;
    const mask = slots.length - 1;
    for (let slot = this.startOf(hash); slots[slot + COUNT] !== EMPTY; slot = (slot + STRIDE) & mask) {
      if (slots[slot + COUNT] > 0 && slots[slot] === w0 && slots[slot + 1] === w1 && slots[slot + 2] === w2)
        return slot;
    }
    return -1;
  }

  /** Counts one more (`change` 1) or one fewer (-1) key holding each piece of `key`: one probe sequence a piece. */
  private visitPieces(key: string, change: 1 | -1): void {
    const codes = codesOf(key);
    let hash = 0;
    for (let i = 0; i < codes.length; i++) {
      hash = rollHash(hash, codes[i], i >= PIECE_LENGTH ? codes[i - PIECE_LENGTH] : undefined);
      const from = i + 1 - PIECE_LENGTH;
      if (from < 0) continue;
      const w0 = wordAt(codes, from);
      const w1 = wordAt(codes, from + 4);
      const w2 = wordAt(codes, from + 8);
      if (change === 1) this.place(hash, w0, w1, w2, 1);
      else this.release(this.find(hash, w0, w1, w2));
    }
  }

  /** One key fewer holds the piece in `slot`; the last one gone, the slot is free. */
  private release(slot: number): void {
    if (slot < 0 || --this.slots[slot + COUNT] > 0) return;
    this.slots[slot + COUNT] = DELETED;
    this.live--;
    this.deleted++;
  }

  /** Adds `count` holders to a piece: to its slot when it is there already, else to a free one (the first met). */
  private place(hash: number, w0: number, w1: number, w2: number, count: number): void {
    const { slots } = this;
    const mask = slots.length - 1;
    let free = -1;
    let slot = this.startOf(hash);
    for (; slots[slot + COUNT] !== EMPTY; slot = (slot + STRIDE) & mask) {
      const held = slots[slot + COUNT];
      if (held > 0 && slots[slot] === w0 && slots[slot + 1] === w1 && slots[slot + 2] === w2) {
        slots[slot + COUNT] = held + count;
        return;
      }
      if (held === DELETED && free < 0) free = slot;
    }
    if (free >= 0) {
      slot = free;
      this.deleted--;
    }
    slots[slot] = w0;
    slots[slot + 1] = w1;
    slots[slot + 2] = w2;
    slots[slot + COUNT] = count;
    this.live++;
  }

  /** A fresh table with room for `pieces` within MAX_LOAD, holding the live pieces of the old one. */
  private resize(pieces: number): void {
    const bits = Math.max(4, Math.ceil(Math.log2(pieces / MAX_LOAD + 1)));
    const old = this.slots;
    this.slots = new Int32Array(2 ** bits * STRIDE);
    this.shift = 32 - bits;
    this.live = 0;
    this.deleted = 0;
    for (let slot = 0; slot < old.length; slot += STRIDE) {
      if (old[slot + COUNT] <= 0) continue;
      const codes = unpack(old, slot);
      let hash = 0;
      for (let i = 0; i < PIECE_LENGTH; i++) hash = rollHash(hash, codes[i]);
      this.place(hash, old[slot], old[slot + 1], old[slot + 2], old[slot + COUNT]);
    }
  }
}

/** Four codes from `at` as one word. */
function wordAt(codes: Uint8Array, at: number): number {
  return codes[at] | (codes[at + 1] << 8) | (codes[at + 2] << 16) | (codes[at + 3] << 24);
}

const scratch = { codes: new Uint8Array(256) };

/** The codes of `text` as matching sees them (in a buffer reused between calls: valid until the next). */
function codesOf(text: string): Uint8Array {
  if (scratch.codes.length < text.length) scratch.codes = new Uint8Array(text.length * 2);
  const codes = scratch.codes.subarray(0, text.length);
  for (let i = 0; i < text.length; i++) codes[i] = codeOf(text, i);
  return codes;
}

/** A character's code as matching sees it: ASCII as is, anything else 0 (which no text ever matches). */
function codeOf(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? code : 0;
}

const unpacked = new Uint8Array(PIECE_LENGTH);

/** The 12 codes of the piece in the slot at `slot`. */
function unpack(slots: Int32Array, slot: number): Uint8Array {
  for (let i = 0; i < PIECE_LENGTH; i++) unpacked[i] = (slots[slot + (i >> 2)] >>> ((i & 3) * 8)) & 0xff;
  return unpacked;
}

function piecesOf(key: string): number {
  return Math.max(0, key.length - PIECE_LENGTH + 1);
}
