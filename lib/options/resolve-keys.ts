// Checks the pool keys: strings or KeySpec objects, unique, each shaped like
// a key (key-format.ts), with bounded weights and printable labels and account
// names that hold no piece of any key. Linear in the number of keys: a keys
// file of 100,000 lines is checked in well under a second.
import { rejectUnknownOptions } from './errors.js';
import { keyFormatProblem, type KeyFormat } from './key-format.js';
import { assignLabelSteps, namesHoldingPieces, nameProblem } from './key-label.js';
import { describe, fail } from './option-checks.js';
import { runSteps, type Steps, stepDone } from './steps.js';

export { unusualCharacter } from './key-format.js';

/** One key after checking: the secret, and the names it may be shown by. */
export interface ResolvedKey {
  key: string;
  label: string;
  weight: number;
  /** The account whose daily quota the key uses: the given name, or one of the key's own. */
  account: string;
  /** True when no account was named: the key has an account of its own (never shown, never shared by name). */
  ownAccount: boolean;
}

/** What a key must be, and how many a pool may hold. */
export interface KeyRules {
  format: KeyFormat;
  maxKeys: number;
}

/** Largest `weight`: bounds the weighted strategy's schedule. */
export const MAX_WEIGHT = 1_000_000;

/** One spec checked on its own: the key's shape, and the shape of its settings. */
export interface CheckedSpec {
  key: string;
  label: string | undefined;
  weight: number;
  account: string | undefined;
}

/**
 * Checks one key or KeySpec. `position` names it in errors: `keys[3]` and
 * `keys[3].label`, or (for addKey, position -1) `key` and `label`. Names are
 * built only for an error: checking 100,000 keys makes no string per key.
 */
export function checkKeySpec(entry: unknown, position: number, format: KeyFormat): CheckedSpec {
  const option = () => (position < 0 ? 'key' : `keys[${position}]`);
  const field = (name: string) => (position < 0 ? name : `keys[${position}].${name}`);
  if (typeof entry === 'string') {
    const problem = keyFormatProblem(entry, format);
    if (problem) fail(option(), problem, 'ERR_MSB_KEYS');
    return { key: entry, label: undefined, weight: 1, account: undefined };
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    fail(option(), `must be a string or { key, label?, weight?, account? }, got ${describe(entry)}.`, 'ERR_MSB_KEYS');
  }
  rejectUnknownOptions(entry, ['key', 'label', 'weight', 'account'], option());
  const { key, label, weight, account } = entry as Record<string, unknown>;
  if (typeof key !== 'string') fail(option(), `must be a key (a string), got ${describe(key)}.`, 'ERR_MSB_KEYS');
  const problem = keyFormatProblem(key, format);
  if (problem) fail(option(), problem, 'ERR_MSB_KEYS');
  const wrongLabel = label === undefined ? undefined : nameProblem(label);
  if (wrongLabel) fail(field('label'), wrongLabel);
  const wrongAccount = account === undefined ? undefined : nameProblem(account);
  if (wrongAccount) fail(field('account'), wrongAccount);
  if (weight !== undefined && (!Number.isInteger(weight) || (weight as number) < 1 || (weight as number) > MAX_WEIGHT))
    fail(field('weight'), `must be a whole number from 1 to ${MAX_WEIGHT}, got ${describe(weight)}.`);
  return {
    key,
    label: label as string | undefined,
    weight: (weight as number | undefined) ?? 1,
    account: account as string | undefined,
  };
}

/** Refuses a chosen label or account name that holds a piece of any key: it would be shown in logs and stats. */
export function refuseNamesHoldingPieces(
  specs: readonly CheckedSpec[],
  keys: Iterable<string>,
  optionOf: (index: number) => string,
): void {
  const names: string[] = [];
  const owners: Array<[number, 'label' | 'account']> = [];
  specs.forEach((spec, index) => {
    for (const field of ['label', 'account'] as const) {
      const name = spec[field];
      if (name === undefined) continue;
      names.push(name);
      owners.push([index, field]);
    }
  });
  if (names.length === 0) return;
  let first = Infinity;
  for (const holder of namesHoldingPieces(names, keys)) first = Math.min(first, holder);
  if (first === Infinity) return;
  const [index, field] = owners[first];
  const shown = field === 'label' ? 'a label is shown in stats and logs' : 'an account name is shown in logs';
  fail(`${optionOf(index)}.${field}`, `contains part of a key; ${shown}, so choose a name.`);
}

/**
 * Checks a whole key list. `keptLabel` gives the label a key already in the
 * pool has: it keeps it unless it chooses another (a new key gets its mask).
 */
export function resolveKeys(
  value: unknown,
  rules: KeyRules,
  keptLabel: (key: string) => string | undefined = () => undefined,
): ResolvedKey[] {
  return runSteps(resolveKeySteps(value, rules, keptLabel));
}

/** `resolveKeys` in steps, to run at once or between other work (`runStepsGradually`). */
export function* resolveKeySteps(
  value: unknown,
  rules: KeyRules,
  keptLabel: (key: string) => string | undefined = () => undefined,
): Steps<ResolvedKey[]> {
  if (!Array.isArray(value) || value.length === 0) {
    fail('keys', "must be a non-empty array of ModelScope tokens, e.g. `keys: ['ms-…']`.", 'ERR_MSB_KEYS');
  }
  if (value.length > rules.maxKeys) {
    fail(
      'keys',
      `holds ${value.length} keys; maxKeys allows ${rules.maxKeys}. Raise maxKeys (max_keys) if the pool really is ` +
        'this large.',
      'ERR_MSB_KEYS',
    );
  }
  const specs: CheckedSpec[] = [];
  const firstIndex = new Map<string, number>();
  const labelIndex = new Map<string, number>();
  for (let index = 0; index < value.length; index++) {
    const spec = checkKeySpec(value[index], index, rules.format);
    specs.push(spec);
    const earlier = firstIndex.get(spec.key);
    if (earlier !== undefined)
      fail(`keys[${index}]`, `repeats keys[${earlier}]; each key may appear once.`, 'ERR_MSB_KEYS');
    firstIndex.set(spec.key, index);
    if (spec.label !== undefined) {
      const sameLabel = labelIndex.get(spec.label);
      if (sameLabel !== undefined)
        fail(`keys[${index}].label`, `repeats the label of keys[${sameLabel}]; labels must be unique.`);
      labelIndex.set(spec.label, index);
    }
    if (stepDone(index)) yield;
  }
  refuseNamesHoldingPieces(specs, firstIndex.keys(), (index) => `keys[${index}]`);
  const labels = yield* assignLabelSteps(
    specs.map((spec) => spec.label),
    specs.map((spec) => keptLabel(spec.key)),
    specs.map((spec) => spec.key),
  );
  const resolved: ResolvedKey[] = [];
  for (let index = 0; index < specs.length; index++) {
    const spec = specs[index];
    resolved.push({
      key: spec.key,
      label: labels[index],
      weight: spec.weight,
      account: spec.account ?? `key:${labels[index]}`,
      ownAccount: spec.account === undefined,
    });
    if (stepDone(index)) yield;
  }
  return resolved;
}
