// When ModelScope's daily allowance comes back. No header says so; users of
// the API observe a reset at midnight in Asia/Shanghai, so the zone and the
// time of day are settings.

/** Minutes after midnight for 'HH:MM', or undefined when malformed. */
export function parseResetTime(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock time in `timeZone` at instant `epochMs`, read as if it were UTC. */
function wallClockAsUtc(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

/** The first instant after `epochMs` at which the local time in `timeZone` is `minutes` past midnight. */
export function nextResetAt(epochMs: number, timeZone: string, minutes: number): number {
  const wall = wallClockAsUtc(epochMs, timeZone);
  const offset = wall - Math.floor(epochMs / 1000) * 1000;
  const dayStart = Math.floor(wall / 86_400_000) * 86_400_000;
  let candidateWall = dayStart + minutes * 60_000;
  if (candidateWall <= wall) candidateWall += 86_400_000;
  // Convert back with the offset in force at the candidate, which differs across a DST change.
  let instant = candidateWall - offset;
  const correctedOffset = wallClockAsUtc(instant, timeZone) - instant;
  instant = candidateWall - correctedOffset;
  return instant > epochMs ? instant : instant + 86_400_000;
}
