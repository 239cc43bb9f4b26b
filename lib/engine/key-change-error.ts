// A refused change of the pool's keys at runtime (addKey, replaceKeys, replaceKeysGradually, POST /admin/keys). The
// key rules are the options' (options/resolve-keys.ts), but a refusal here is about a key change, not an option:
// it has its own class and codes. Like every message of the balancer, it never quotes a key.
import { BalanceConfigError } from '../options/errors.js';

/** The `code` of every KeyChangeError. */
export const KEY_CHANGE_ERROR_CODES = [
  'ERR_MSB_KEY_EXISTS',
  'ERR_MSB_KEY_INVALID',
  'ERR_MSB_KEY_LIMIT',
  'ERR_MSB_LABEL_TAKEN',
] as const;

export type KeyChangeErrorCode = (typeof KEY_CHANGE_ERROR_CODES)[number];

/** A key change that was refused; nothing changed. */
export class KeyChangeError extends Error {
  /**
   * `ERR_MSB_KEY_EXISTS`: the key is in the pool already; `ERR_MSB_KEY_INVALID`: a key, label, weight or account
   * that breaks the key rules (or a list that repeats a key); `ERR_MSB_KEY_LIMIT`: more keys than `maxKeys`;
   * `ERR_MSB_LABEL_TAKEN`: another key of the pool has the label.
   */
  readonly code: KeyChangeErrorCode;
  /** What was wrong: `key`, `label`, `weight`, `account`, or in a list `keys`, `keys[3]`, `keys[3].label`. */
  readonly field: string;

  constructor(code: KeyChangeErrorCode, field: string, problem: string) {
    super(`modelscope-balance: \`${field}\` ${problem}`);
    this.name = 'KeyChangeError';
    this.code = code;
    this.field = field;
  }
}

/** Runs `change`; a refusal by the shared key rules (a BalanceConfigError) is thrown as the key change's. */
export function keyChange<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    throw asKeyChangeError(error);
  }
}

/** A refusal by the shared key rules, as a key change's (`ERR_MSB_KEY_INVALID`); anything else as it is. */
export function asKeyChangeError(error: unknown): unknown {
  if (!(error instanceof BalanceConfigError)) return error;
  return new KeyChangeError('ERR_MSB_KEY_INVALID', error.option, error.problem);
}
