// Small checks shared by the option resolvers: each failure throws a
// BalanceConfigError naming the option and the fix.
import { BalanceConfigError, type ConfigErrorCode } from './errors.js';

export function fail(option: string, message: string, code: ConfigErrorCode = 'ERR_MSB_INVALID_OPTION'): never {
  throw new BalanceConfigError(code, option, message);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'number' ? String(value) : `a ${typeof value}`;
}

export function positiveInteger(option: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isInteger(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) fail(option, `must be a ${allowZero ? 'non-negative' : 'positive'} whole number, got ${describe(value)}.`);
  return value as number;
}
