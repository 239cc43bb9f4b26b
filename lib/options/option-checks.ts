// Small checks shared by the option resolvers: each failure throws a
// BalanceConfigError naming the option and the fix.
import { BalanceConfigError, type ConfigErrorCode, rejectUnknownOptions } from './errors.js';

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
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1))
    fail(option, `must be a ${allowZero ? 'non-negative' : 'positive'} whole number, got ${describe(value)}.`);
  return value;
}

/** An option checked by a type guard: its value, typed, or undefined when it was left out. */
export function optional<T>(
  option: string,
  value: unknown,
  isValid: (value: unknown) => value is T,
  expected: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!isValid(value)) fail(option, expected);
  return value;
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

export function isNonBlankString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** An options object such as `cooldown`: checked for shape and unknown names; `{}` when left out. */
export function section<T extends object>(option: string, value: unknown, known: (keyof T & string)[]): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(option, `must be an object with ${known.join(', ')}, got ${describe(value)}.`);
  }
  rejectUnknownOptions(value, known, option);
  return value as Partial<T>;
}

/** An http: or https: URL, or undefined when `value` is not one. */
export function httpUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
