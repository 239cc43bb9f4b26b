// Times as ISO 8601 text for /stats, /status and messages. `toISOString()`
// throws a RangeError beyond ±8.64e15 ms (and on NaN): a value from a store or
// an upstream header must never turn a page into a 500, so it is clamped.

/** The largest distance from 1970 a Date can hold, in ms. */
const MAX_DATE_MS = 8.64e15;

/** `ms` as ISO 8601, clamped to what a Date holds (NaN reads as 1970). */
export function isoTime(ms: number): string {
  const clamped = Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, -MAX_DATE_MS), MAX_DATE_MS);
  return new Date(clamped).toISOString();
}

/** The same, with null for no time at all (null, undefined or 0). */
export function isoTimeOrNull(ms: number | null | undefined): string | null {
  return ms ? isoTime(ms) : null;
}
