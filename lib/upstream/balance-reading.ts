// What a balance endpoint answers, read defensively. The reported shape is
// `{ total_balance, available_balance, frozen_amount }`, possibly inside a
// `data` object (or two), with numbers or numeric strings, snake or camel case.
// Anything else is "unreadable", never a zero.

export interface BalanceReading {
  available: number;
  total: number | null;
  frozen: number | null;
}

/** How deep the figures may be nested (`{ data: { data: { … } } }`). */
const MAX_DEPTH = 4;

/** The names each figure goes by, compared without case, `_` or `-`. */
const NAMES = {
  available: ['availablebalance', 'available', 'balanceavailable'],
  total: ['totalbalance', 'total', 'balance'],
  frozen: ['frozenamount', 'frozenbalance', 'frozen'],
} as const;

const normal = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

function figure(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/** The first figure under one of `names` in `record`. */
function pick(record: Record<string, unknown>, names: readonly string[]): number | null {
  for (const [name, value] of Object.entries(record)) {
    if (names.includes(normal(name))) {
      const found = figure(value);
      if (found !== null) return found;
    }
  }
  return null;
}

/** The object holding an available balance: `record` itself, or one nested in it (breadth first). */
function holder(root: unknown): Record<string, unknown> | undefined {
  let level: unknown[] = [root];
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const value of level) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      const record = value as Record<string, unknown>;
      if (pick(record, NAMES.available) !== null) return record;
      next.push(...Object.values(record));
    }
    level = next;
  }
  return undefined;
}

/** The figures in a balance answer's body, or undefined when it says no available balance we can read. */
export function readBalance(body: string): BalanceReading | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const record = holder(parsed);
  if (!record) return undefined;
  return {
    available: pick(record, NAMES.available) as number,
    total: pick(record, NAMES.total),
    frozen: pick(record, NAMES.frozen),
  };
}
