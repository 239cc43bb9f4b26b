// Errors thrown while options are checked. Each carries a stable `code` so
// callers can branch on it, and a message that says what to change.

/** The `code` of every BalanceConfigError. */
export const CONFIG_ERROR_CODES = [
  'ERR_MSB_OPTIONS',
  'ERR_MSB_UNKNOWN_OPTION',
  'ERR_MSB_INVALID_OPTION',
  'ERR_MSB_KEYS',
  'ERR_MSB_NOT_CALLED',
  'ERR_MSB_METRICS_PREFIX_IN_USE',
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** A wrong option, found when `modelscopeBalance()` checks it. */
export class BalanceConfigError extends Error {
  /** Stable machine-readable code, e.g. `ERR_MSB_KEYS`. */
  readonly code: ConfigErrorCode;
  /** The option (dotted path) that was wrong. */
  readonly option: string;
  /** What is wrong with it and the fix: the message without its opening words. */
  readonly problem: string;

  constructor(code: ConfigErrorCode, option: string, problem: string) {
    super(`modelscope-balance: option \`${option}\` ${problem}`);
    this.name = 'BalanceConfigError';
    this.code = code;
    this.option = option;
    this.problem = problem;
  }
}

/** Levenshtein distance, small and allocation-light: option names are short. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previousDiagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previousDiagonal + cost);
      previousDiagonal = saved;
    }
  }
  return row[b.length];
}

/** The closest known name to `name`, if one is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(name.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** Throws for every key of `value` that is not in `known`, suggesting the closest. */
export function rejectUnknownOptions(value: object, known: readonly string[], prefix: string): void {
  for (const name of Object.keys(value)) {
    if (known.includes(name)) continue;
    const option = prefix ? `${prefix}.${name}` : name;
    const guess = closestName(name, known);
    const hint = guess ? ` Did you mean \`${prefix ? `${prefix}.` : ''}${guess}\`?` : '';
    throw new BalanceConfigError(
      'ERR_MSB_UNKNOWN_OPTION',
      option,
      `is not a known option.${hint} Known options: ${known.join(', ')}.`,
    );
  }
}
