// Finds where a top-level member of a JSON object body is, as a byte range,
// without parsing the body into values: a request is forwarded as the bytes
// the client sent (big integers, key order, escapes), so reading or replacing
// one member must not go through JSON.parse and JSON.stringify. The scanner
// accepts exactly what JSON.parse accepts, so what it finds is what any
// strict parser upstream sees; nesting is followed with a byte stack, never
// recursion, so no body can overflow the call stack. Long strings (a base64
// image is most of a vision request) are crossed four bytes at a time.

/** Where a member's value sits in the body: bytes [start, end). */
export interface ValueRange {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OBJECT = 1;
const ARRAY = 2;

/** Bytes that end a run of plain string characters: the quote, the backslash and the control characters. */
const STRING_STOP = new Uint8Array(256);
STRING_STOP.fill(1, 0, 0x20);
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

/** The characters JSON allows after a backslash, besides `u`. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const HEX_DIGIT = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** JSON whitespace is these four characters only (JSON.parse refuses a BOM or a no-break space). */
function skipWhitespace(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * The body four bytes at a time, for crossing the plain runs of long strings: a word holds a byte that ends a run (a
 * quote, a backslash, a control character) exactly when these bit tests say so, whatever the byte order.
 */
interface Words {
  words: Uint32Array;
  /** The index in the body of the first byte of `words[0]` (the first 4-aligned byte). */
  first: number;
}

function wordsOf(b: Uint8Array): Words {
  const first = (4 - (b.byteOffset & 3)) & 3;
  // Too short for one aligned word: a view at an unaligned offset would throw (even an empty one); bytes one by one.
  if (b.length < first + 4) return { words: new Uint32Array(0), first: 0 };
  return { words: new Uint32Array(b.buffer, b.byteOffset + first, (b.length - first) >>> 2), first };
}

/** Where the run of plain string bytes starting at `i` ends (at a quote, backslash or control character, or the end). */
function plainRunEnd(b: Uint8Array, i: number, { words, first }: Words): number {
  while (i < b.length && ((i - first) & 3) !== 0) {
    if (STRING_STOP[b[i]] !== 0) return i;
    i++;
  }
  let w = (i - first) >> 2;
  for (; w < words.length; w++) {
    const x = words[w];
    const quote = x ^ 0x22222222;
    const backslash = x ^ 0x5c5c5c5c;
    // Some byte under 0x20, or equal to 0x22 or 0x5c (the classic "has less" and "has zero" word tests).
    if (
      (((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)) &
      0x80808080
    )
      break;
  }
  i = Math.max(i, first + w * 4);
  while (i < b.length && STRING_STOP[b[i]] === 0) i++;
  return i;
}

/** The index after the string starting at `i` (its opening quote), or -1 when it is not a valid JSON string. */
function skipString(b: Uint8Array, i: number, words: Words): number {
  i++;
  for (;;) {
    i = plainRunEnd(b, i, words);
    if (i >= b.length) return -1;
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) return -1; // a raw control character
    const escaped = b[i + 1];
    if (escaped === 0x75) {
      for (let h = i + 2; h < i + 6; h++) if (HEX_DIGIT[b[h]] !== 1) return -1;
      i += 6;
    } else if (escaped !== undefined && SIMPLE_ESCAPE[escaped] === 1) i += 2;
    else return -1;
  }
}

/** The index after the number starting at `i`, by JSON's grammar (no `+`, no leading zeros, no bare `.`), or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function skipWord(b: Uint8Array, i: number, word: Buffer): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** The index after `"key" :` starting at `i` (after whitespace), or -1. */
function skipKey(b: Uint8Array, i: number, words: Words): number {
  if (b[i] !== QUOTE) return -1;
  i = skipString(b, i, words);
  if (i < 0) return -1;
  i = skipWhitespace(b, i);
  return b[i] === 0x3a ? i + 1 : -1;
}

/** The index after one scalar (string, number, literal) at `i`, or -1. */
function skipScalar(b: Uint8Array, i: number, words: Words): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i, words);
  if (c === 0x2d || isDigit(c)) return skipNumber(b, i);
  if (c === 0x74) return skipWord(b, i, TRUE);
  if (c === 0x66) return skipWord(b, i, FALSE);
  if (c === 0x6e) return skipWord(b, i, NULL);
  return -1;
}

/** The index after the JSON value starting at `i` (after whitespace), or -1 when it is not valid JSON. */
function skipValue(b: Uint8Array, i: number, words: Words): number {
  // Open containers, innermost last; allocated only for a value that nests.
  let stack: Uint8Array | undefined;
  let depth = 0;
  for (;;) {
    // At the start of a value.
    i = skipWhitespace(b, i);
    const c = b[i];
    if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      const inner = skipWhitespace(b, i + 1);
      if (b[inner] === close) i = inner + 1;
      else {
        if (!stack) stack = new Uint8Array(64);
        else if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === 0x7b ? OBJECT : ARRAY;
        i = c === 0x7b ? skipKey(b, inner, words) : inner;
        if (i < 0) return -1;
        continue;
      }
    } else {
      i = skipScalar(b, i, words);
      if (i < 0) return -1;
    }
    // After a value: close what ends here, until a comma opens the next value.
    for (;;) {
      if (depth === 0) return i;
      i = skipWhitespace(b, i);
      const kind = (stack as Uint8Array)[depth - 1];
      if (b[i] === 0x2c) {
        i = kind === OBJECT ? skipKey(b, skipWhitespace(b, i + 1), words) : i + 1;
        if (i < 0) return -1;
        break;
      }
      if (b[i] !== (kind === OBJECT ? 0x7d : 0x5d)) return -1;
      depth--;
      i++;
    }
  }
}

/** Whether the key whose string spans [start, end) (quotes included) is `name`, escapes read as what they stand for. */
function keyIs(b: Uint8Array, start: number, end: number, name: Buffer): boolean {
  let escaped = false;
  for (let i = start + 1; i < end - 1; i++) if (b[i] === BACKSLASH) escaped = true;
  if (!escaped) {
    if (end - start - 2 !== name.length) return false;
    for (let k = 0; k < name.length; k++) if (b[start + 1 + k] !== name[k]) return false;
    return true;
  }
  // `"mod\u0065l"` is `model` to JSON.parse; escaped keys are rare enough to decode the usual way.
  return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8')) === name.toString();
}

/**
 * The value of the LAST top-level member called `name` (the one JSON.parse keeps) in a body that is one JSON object:
 * its byte range, `null` when the object has no such member, or undefined when the body is not a JSON object
 * (invalid JSON, an array, a string, empty) — exactly when `JSON.parse` would fail or give no object.
 */
export function findTopLevelMember(body: Uint8Array, name: string): ValueRange | null | undefined {
  const wanted = Buffer.from(name, 'utf8');
  const words = wordsOf(body);
  let i = skipWhitespace(body, 0);
  if (body[i] !== 0x7b) return undefined;
  i = skipWhitespace(body, i + 1);
  let found: ValueRange | null = null;
  if (body[i] === 0x7d) i++;
  else {
    for (;;) {
      if (body[i] !== QUOTE) return undefined;
      const keyStart = i;
      const keyEnd = skipString(body, i, words);
      if (keyEnd < 0) return undefined;
      i = skipWhitespace(body, keyEnd);
      if (body[i] !== 0x3a) return undefined;
      const start = skipWhitespace(body, i + 1);
      const end = skipValue(body, start, words);
      if (end < 0) return undefined;
      if (keyIs(body, keyStart, keyEnd, wanted)) found = { start, end };
      i = skipWhitespace(body, end);
      if (body[i] === 0x2c) {
        i = skipWhitespace(body, i + 1);
        continue;
      }
      if (body[i] !== 0x7d) return undefined;
      i++;
      break;
    }
  }
  return skipWhitespace(body, i) === body.length ? found : undefined;
}
