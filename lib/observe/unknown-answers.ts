// A 403 whose body the answer table does not know is taken as a refused token,
// but it may be a new way of saying "balance used up". Each new shape is logged
// once (scrubbed of key pieces, truncated), so operators can report it.
import type { Logger } from './logger.js';

/** Distinct shapes remembered at most: a hostile upstream can't grow memory or flood the log. */
const MAX_SHAPES = 64;
/** Characters of the body shown in the log line. */
const SHOWN_CHARS = 300;

/** The body with what varies per answer (ids, numbers, times) flattened, so one shape is logged once. */
export function shapeOf(body: string): string {
  return body
    .slice(0, 2000)
    .replace(/[0-9a-f]{8,}(-[0-9a-f]{4,})*/gi, '#')
    .replace(/\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

export class UnknownAnswers {
  private readonly seen = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly scrub: (text: string) => string,
  ) {}

  /** Logs a body of an unknown shape the first time that shape is seen. */
  report(status: number, label: string, body: string): void {
    if (this.seen.size >= MAX_SHAPES) return;
    const shape = shapeOf(body);
    if (this.seen.has(shape)) return;
    this.seen.add(shape);
    const shown = this.scrub(body.replace(/\s+/g, ' ').trim()).slice(0, SHOWN_CHARS);
    this.logger.warn(
      { status, key: label, body: shown || '(empty)' },
      `ModelScope answered ${status} with a body the balancer does not know; the key is taken as refused. If the ` +
        'body is about quota or balance, please report it so it can be recognised.',
    );
  }
}
