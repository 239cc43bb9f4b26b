// Labels: the only way a key is ever named in stats, logs and metrics. A
// masked label never holds 12 consecutive characters of its key, so leak
// checks that look for 12-character pieces stay meaningful; a chosen label
// (or account name) holding such a piece of any key is refused.
import { runSteps, type Steps, stepDone } from './steps.js';

/** Pieces this long or longer of a key are secrets; shorter ones could occur by chance. */
export const PIECE_LENGTH = 12;

/** Longest label or account name, in characters: it goes into URLs, metric labels and log lines. */
export const MAX_NAME_LENGTH = 64;

/** How many characters of a key a label shows at each end, by key length. */
function visibleEnds(length: number): [number, number] {
  if (length >= 24) return [5, 4];
  if (length >= PIECE_LENGTH) return [2, 2];
  return [0, 0];
}

export function maskKey(key: string): string {
  const [head, tail] = visibleEnds(key.length);
  if (head === 0) return 'key';
  return `${key.slice(0, head)}…${key.slice(key.length - tail)}`;
}

/** True when `text` contains any `size`-character piece of `secret`. */
export function containsPieceOf(text: string, secret: string, size = PIECE_LENGTH): boolean {
  if (secret.length < size) return text.includes(secret);
  for (let start = 0; start + size <= secret.length; start++) {
    if (text.includes(secret.slice(start, start + size))) return true;
  }
  return false;
}

/** Control, format, private-use and unassigned characters, lone surrogates, line and paragraph separators. */
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

/**
 * Why `name` cannot be a label or account name, as the end of a sentence, or
 * undefined when it can: a label must be reachable as one URL segment
 * (`DELETE /admin/keys/{label}`) and readable in a log line.
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'must be a non-empty string.';
  if (name === '.' || name === '..') return 'must not be `.` or `..` (no URL can name it).';
  if (UNPRINTABLE.test(name))
    return 'must hold printable characters only (no control or invisible characters, no lone surrogate).';
  let length = 0;
  for (const _ of name) length++;
  if (length > MAX_NAME_LENGTH) return `is ${length} characters long; keep it to ${MAX_NAME_LENGTH}.`;
  return undefined;
}

/**
 * Labels for all keys, unique: a key's `chosen` label, else the one it has
 * now (`kept`), else its mask. Chosen labels (unique: checked by the caller)
 * are reserved first, then kept ones, so neither is ever taken by a generated
 * label; masks that collide get a `#n` suffix. A few set operations a key:
 * 100,000 keys take milliseconds.
 */
export function assignLabels(
  chosen: readonly (string | undefined)[],
  kept: readonly (string | undefined)[],
  keys: readonly string[],
): string[] {
  return runSteps(assignLabelSteps(chosen, kept, keys));
}

/** `assignLabels` in steps. */
export function* assignLabelSteps(
  chosen: readonly (string | undefined)[],
  kept: readonly (string | undefined)[],
  keys: readonly string[],
): Steps<string[]> {
  const taken = new Set<string>();
  const labels: Array<string | undefined> = [...chosen];
  for (const label of chosen) if (label !== undefined) taken.add(label);
  for (let index = 0; index < kept.length; index++) {
    const label = kept[index];
    if (labels[index] === undefined && label !== undefined && !taken.has(label)) {
      taken.add(label);
      labels[index] = label;
    }
    if (stepDone(index)) yield;
  }
  // The next suffix to try for a mask already taken: many keys that mask alike cost one step each.
  const nextSuffix = new Map<string, number>();
  const assigned: string[] = [];
  for (let index = 0; index < labels.length; index++) {
    assigned.push(labels[index] ?? uniqueMask(keys[index], taken, nextSuffix));
    if (stepDone(index)) yield;
  }
  return assigned;
}

function uniqueMask(key: string, taken: Set<string>, nextSuffix: Map<string, number>): string {
  const base = maskKey(key);
  let label = base;
  if (taken.has(base)) {
    let n = nextSuffix.get(base) ?? 2;
    label = `${base}#${n++}`;
    while (taken.has(label)) label = `${base}#${n++}`;
    nextSuffix.set(base, n);
  }
  taken.add(label);
  return label;
}

const BASE = 0x01000193;
const BASE_POW = (() => {
  let power = 1;
  for (let i = 1; i < PIECE_LENGTH; i++) power = Math.imul(power, BASE);
  return power;
})();

/**
 * Which of `names` hold a 12-character piece of any of `keys`. The names'
 * windows are hashed once, then each key is rolled over once: O(total
 * length), with no string made per piece, so 100,000 keys take milliseconds.
 */
export function namesHoldingPieces(names: readonly string[], keys: Iterable<string>): Set<number> {
  const windows = new Map<number, Array<[number, number]>>();
  names.forEach((name, index) => {
    forEachWindow(name, (hash, offset) => {
      const list = windows.get(hash);
      if (list) list.push([index, offset]);
      else windows.set(hash, [[index, offset]]);
    });
  });
  const found = new Set<number>();
  if (windows.size === 0) return found;
  for (const key of keys) {
    forEachWindow(key, (hash, offset) => {
      for (const [index, at] of windows.get(hash) ?? []) {
        if (!found.has(index) && names[index].startsWith(key.slice(offset, offset + PIECE_LENGTH), at))
          found.add(index);
      }
    });
  }
  return found;
}

/** Calls `visit` with the rolling hash and offset of every 12-character window of `text`. */
function forEachWindow(text: string, visit: (hash: number, offset: number) => void): void {
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    if (i >= PIECE_LENGTH) hash = (hash - Math.imul(text.charCodeAt(i - PIECE_LENGTH), BASE_POW)) | 0;
    hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
    if (i >= PIECE_LENGTH - 1) visit(hash, i + 1 - PIECE_LENGTH);
  }
}
