/**
 * Removes pool keys from text an upstream sent back (some APIs echo the
 * token in error messages) before it reaches a client or a log.
 */
export class KeyScrubber {
  private readonly pattern: RegExp | undefined;

  constructor(keys: readonly string[]) {
    const escaped = keys.map((key) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // Longest first, so a key that contains another is removed whole.
    escaped.sort((a, b) => b.length - a.length);
    this.pattern = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : undefined;
  }

  scrub(text: string): string {
    return this.pattern ? text.replace(this.pattern, '[redacted]') : text;
  }

  scrubBuffer(body: Buffer): Buffer {
    const text = body.toString('utf8');
    const clean = this.scrub(text);
    return clean === text ? body : Buffer.from(clean, 'utf8');
  }
}
