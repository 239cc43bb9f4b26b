/**
 * Removes pool keys from text an upstream sent back (some APIs echo the
 * token in error messages) before it reaches a client or a log. A set lookup
 * per position and key length: no giant alternation regex, so 10 000 keys
 * cost no more memory than the keys themselves.
 */
export class KeyScrubber {
  private readonly keys: ReadonlySet<string>;
  /** Distinct key lengths, longest first, so a key that contains another is removed whole. */
  private readonly lengths: number[];
  private readonly firstChars: ReadonlySet<string>;

  constructor(keys: readonly string[]) {
    const usable = keys.filter((key) => key.length > 0);
    this.keys = new Set(usable);
    this.lengths = [...new Set(usable.map((key) => key.length))].sort((a, b) => b - a);
    this.firstChars = new Set(usable.map((key) => key[0]));
  }

  scrub(text: string): string {
    if (this.keys.size === 0) return text;
    let out = '';
    let copiedUpTo = 0;
    for (let i = 0; i < text.length; i++) {
      if (!this.firstChars.has(text[i])) continue;
      for (const length of this.lengths) {
        if (i + length <= text.length && this.keys.has(text.slice(i, i + length))) {
          out += `${text.slice(copiedUpTo, i)}[redacted]`;
          copiedUpTo = i + length;
          i += length - 1;
          break;
        }
      }
    }
    return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
  }

  scrubBuffer(body: Buffer): Buffer {
    const text = body.toString('utf8');
    const clean = this.scrub(text);
    return clean === text ? body : Buffer.from(clean, 'utf8');
  }
}
