// Reads `usage` out of a server-sent event stream as it passes: OpenAI's
// usage chunk (`stream_options.include_usage`, or `usage` on every chunk),
// Anthropic's message_start and message_delta, the Responses API's
// response.completed. Each chunk is read where it lies, with native searches
// (for each data line's end, and for `"usage"`, about once a chunk): nothing
// is copied but the start of a line a chunk ends in and the data of an event
// that goes on into the next chunk, and only an event whose data names
// `"usage"` (with a value other than null) is decoded and parsed. Lines may be cut anywhere,
// inside a UTF-8 sequence too: bytes are joined before they are decoded.
import { type UsageCounts, usageOf } from './token-usage.js';

const LF = 0x0a;
const CR = 0x0d;
const USAGE = Buffer.from('"usage"');
/**
 * `"usage"` is found by its `g`, the rarest of its letters in JSON and prose (and absent from CJK text): a native
 * search for one byte costs a tenth of one for a word. After this many `g`s that are not in `"usage"`, a chunk is
 * searched for the word instead, so text made of `g`s costs no more than that.
 */
const G = 0x67;
const G_MISSES = 4;
/** No `"usage"` is left in the chunk. */
const NONE = Number.POSITIVE_INFINITY;
const UNSEARCHED = -1;
const EMPTY = Buffer.alloc(0);

/** Whether bytes [start, end) of `line` are an SSE `data` field (`data:…`, or a bare `data`). */
function isData(line: Buffer, start: number, end: number): boolean {
  return (
    line[start] === 0x64 &&
    line[start + 1] === 0x61 &&
    line[start + 2] === 0x74 &&
    line[start + 3] === 0x61 &&
    (end === start + 4 || line[start + 4] === 0x3a)
  );
}

/** Whether the value after `usage"` (its colon at or after `at`) is `null`, as OpenAI sends on all but one chunk. */
function isNullValue(buffer: Buffer, at: number): boolean {
  while (buffer[at] === 0x20) at++;
  if (buffer[at] !== 0x3a) return false;
  at++;
  while (buffer[at] === 0x20) at++;
  return buffer[at] === 0x6e && buffer[at + 1] === 0x75 && buffer[at + 2] === 0x6c && buffer[at + 3] === 0x6c;
}

/** Whether `"usage"` starts at `at`, followed by a value other than null. */
function isUsageAt(buffer: Buffer, at: number): boolean {
  for (let k = 0; k < USAGE.length; k++) if (buffer[at + k] !== USAGE[k]) return false;
  return !isNullValue(buffer, at + USAGE.length);
}

/** Where the next `"usage"` at or after `from` with a value other than null starts, or NONE. */
function findUsage(buffer: Buffer, from: number): number {
  let g = buffer.indexOf(G, from + 4);
  for (let misses = 0; g !== -1 && misses < G_MISSES; misses++) {
    if (isUsageAt(buffer, g - 4)) return g - 4;
    g = buffer.indexOf(G, g + 1);
  }
  if (g === -1) return NONE;
  for (let at = buffer.indexOf(USAGE, g - 4); at !== -1; at = buffer.indexOf(USAGE, at + 1)) {
    if (isUsageAt(buffer, at)) return at;
  }
  return NONE;
}

/** The data lines among the lines [from, to) of `raw` (any line endings), as the values the SSE spec joins. */
function dataValues(raw: Buffer, from: number, to: number): Buffer[] {
  const values: Buffer[] = [];
  let i = from;
  while (i < to) {
    let end = i;
    while (end < to && raw[end] !== LF && raw[end] !== CR) end++;
    if (isData(raw, i, end)) values.push(raw.subarray(end === i + 4 ? end : i + (raw[i + 5] === 0x20 ? 6 : 5), end));
    i = end + (raw[end] === CR && raw[end + 1] === LF ? 2 : 1);
  }
  return values;
}

export class SseUsageReader {
  /** The start of the line the last chunk ended in, in pieces (copied: no chunk is held). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Reading past the end of a line longer than the limit, to its end. */
  private skipping = false;
  /** The last chunk ended in \r: a \n starting the next one ends no second line. */
  private afterCR = false;
  /**
   * How lines end, learnt from the first line end: `lf` (\n or \r\n, what servers send) saves searching every chunk
   * for a lone \r; a stream whose first line ends in a lone \r is read with all three endings (`any`).
   */
  private endings: 'unknown' | 'lf' | 'any' = 'unknown';
  /** Data values of the event being read that came in earlier chunks (copied). */
  private held: Buffer[] = [];
  /** Bytes of data the event has carried so far. */
  private dataBytes = 0;
  private hasData = false;
  private mentionsUsage = false;
  /** A line of the event was too long, or the event is: its data is not whole, so it is not read. */
  private broken = false;
  /** Where the current event's lines not yet held start in the chunk being read. */
  private eventStart = 0;
  /** Where the next `"usage"` in the chunk being read is (UNSEARCHED, or NONE), so a chunk is searched once. */
  private usageAt = UNSEARCHED;

  /** `maxLineBytes`: the longest line, and the most one event may carry, that is read. */
  constructor(
    private readonly counts: UsageCounts,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    let i = 0;
    if (this.afterCR) {
      this.afterCR = false;
      if (chunk[0] === LF) i = 1;
      if (this.endings === 'unknown') this.endings = i === 1 ? 'lf' : 'any';
    }
    this.eventStart = i;
    this.usageAt = UNSEARCHED;
    let crAt = this.endings === 'lf' ? -1 : chunk.indexOf(CR, i);
    while (i < n) {
      let end = chunk[i] === LF ? i : chunk.indexOf(LF, i);
      if (crAt !== -1) {
        if (crAt < i) crAt = chunk.indexOf(CR, i);
        if (crAt !== -1 && (end === -1 || crAt < end)) end = crAt;
      }
      if (end === -1) {
        this.hold(chunk, i);
        break;
      }
      let next = end + 1;
      let contentEnd = end;
      if (chunk[end] === CR) {
        if (next === n) this.afterCR = true;
        else if (chunk[next] === LF) next++;
        if (this.endings === 'unknown' && next < n) this.endings = next === end + 2 ? 'lf' : 'any';
      } else {
        if (this.endings === 'unknown') this.endings = 'lf';
        if (end > i && chunk[end - 1] === CR) contentEnd = end - 1;
      }
      if (this.skipping) {
        this.skipping = false;
        this.eventStart = next;
      } else if (this.partialBytes > 0) this.joinedLine(chunk, i, contentEnd, next);
      else this.line(chunk, i, contentEnd, next);
      i = next;
    }
    // The event goes on in the next chunk: keep its data so far (up to `i`), not the chunk.
    if (this.hasData && !this.broken && this.eventStart < i) {
      for (const value of dataValues(chunk, this.eventStart, i)) this.held.push(Buffer.from(value));
    }
  }

  /** The end of the stream: a last line or event without its blank line is read too (its tokens were spent). */
  end(): void {
    if (!this.skipping && this.partialBytes > 0) this.joinedLine(EMPTY, 0, 0, 0);
    this.skipping = false;
    this.dispatch(EMPTY, 0, 0);
  }

  /** Keeps the rest of the chunk, a line's start, unless the line is already too long to read. */
  private hold(chunk: Buffer, from: number): void {
    if (this.skipping) return;
    this.partialBytes += chunk.length - from;
    if (this.partialBytes <= this.maxLineBytes) {
      this.partial.push(Buffer.from(chunk.subarray(from)));
      return;
    }
    // Too long to read: skip to its end. A comment may be any length; anything else may be the event's data.
    const first = this.partial.length > 0 ? this.partial[0][0] : chunk[from];
    if (first !== 0x3a) this.broken = true;
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = true;
  }

  /** Counts `bytes` more data for the event: false (and the event broken) past the limit. */
  private carries(bytes: number): boolean {
    this.dataBytes += bytes + 1;
    if (this.dataBytes <= this.maxLineBytes) return true;
    this.broken = true;
    this.held = [];
    return false;
  }

  /** A line that began in an earlier chunk and ends at `end` in this one (`chunk` is empty at the stream's end). */
  private joinedLine(chunk: Buffer, start: number, end: number, next: number): void {
    this.partial.push(chunk.subarray(start, end));
    let line = Buffer.concat(this.partial, this.partialBytes + end - start);
    this.partial = [];
    this.partialBytes = 0;
    this.eventStart = next;
    // A \r\n cut between its two bytes, in a stream whose lines end in \n.
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxLineBytes) {
      if (line[0] !== 0x3a) this.broken = true;
      return;
    }
    if (line.length === 0) return this.dispatch(EMPTY, 0, 0);
    if (!isData(line, 0, line.length) || this.broken) return;
    const [value] = dataValues(line, 0, line.length);
    if (!this.carries(value.length)) return;
    this.hasData = true;
    if (findUsage(line, 0) !== NONE) this.mentionsUsage = true;
    this.held.push(value);
  }

  /** A line that lies whole in the chunk, [start, end), followed by the next at `next`. */
  private line(chunk: Buffer, start: number, end: number, next: number): void {
    if (start === end) {
      this.dispatch(chunk, this.eventStart, start);
      this.eventStart = next;
      return;
    }
    // Comments (`: ping`), `event:`, `id:` and `retry:` lines carry nothing to read: the data tells the event.
    if (!isData(chunk, start, end) || this.broken || !this.carries(end - start)) return;
    this.hasData = true;
    if (this.usageAt === UNSEARCHED || this.usageAt < start) this.usageAt = findUsage(chunk, start);
    if (this.usageAt + USAGE.length <= end) this.mentionsUsage = true;
  }

  /** The event ends: read it if its data names a usage. Its lines are those held and bytes [from, to) of `chunk`. */
  private dispatch(chunk: Buffer, from: number, to: number): void {
    if (this.hasData && this.mentionsUsage && !this.broken) {
      const values =
        this.held.length === 0 ? dataValues(chunk, from, to) : [...this.held, ...dataValues(chunk, from, to)];
      try {
        const text = values.length === 1 ? values[0].toString('utf8') : values.map(String).join('\n');
        const usage = usageOf(JSON.parse(text));
        if (usage) this.counts.merge(usage);
      } catch {
        // Not JSON (`[DONE]`, a cut-off event): nothing to count.
      }
    }
    if (this.held.length > 0) this.held = [];
    this.dataBytes = 0;
    this.hasData = false;
    this.mentionsUsage = false;
    this.broken = false;
  }
}
