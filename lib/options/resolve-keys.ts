// Checks the pool keys: strings or KeySpec objects, unique, plain visible
// ASCII (a copy-paste accident must stop start-up, not crash a probe), with
// labels and account names that hold no piece of any key.
import { rejectUnknownOptions } from './errors.js';
import { assignLabels, containsPieceOf } from './key-label.js';
import { describe, fail, isNonEmptyString, optional, positiveInteger } from './option-checks.js';

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

/**
 * The first character of `key` outside visible ASCII, by kind and position,
 * never the character itself (the message must not carry part of a key).
 */
export function unusualCharacter(key: string): { kind: string; position: number } | undefined {
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x20 && code < 0x7f) continue;
    let kind = 'a non-ASCII character (a letter from another alphabet, or a typographic quote or dash)';
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) kind = 'a control character';
    else if (
      code === 0x20 ||
      code === 0xa0 ||
      (code >= 0x2000 && code <= 0x200f) ||
      code === 0x2028 ||
      code === 0x2029 ||
      code === 0x202f ||
      code === 0x2060 ||
      code === 0xfeff
    ) {
      kind = 'an invisible character (a zero-width or non-breaking space)';
    }
    return { kind, position: i };
  }
  return undefined;
}

export function resolveKeys(value: unknown): ResolvedKey[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail('keys', "must be a non-empty array of ModelScope tokens, e.g. `keys: ['ms-…']`.", 'ERR_MSB_KEYS');
  }
  const specs = value.map((entry: unknown, index) => {
    const spec = typeof entry === 'string' ? { key: entry } : entry;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      fail(
        `keys[${index}]`,
        `must be a string or { key, label?, weight?, account? }, got ${describe(entry)}.`,
        'ERR_MSB_KEYS',
      );
    }
    rejectUnknownOptions(spec, ['key', 'label', 'weight', 'account'], `keys[${index}]`);
    const { key, label, weight, account } = spec as Record<string, unknown>;
    if (typeof key !== 'string' || key.trim() === '') {
      fail(
        `keys[${index}]`,
        `must be a non-empty string, got ${typeof key === 'string' ? 'an empty string' : describe(key)}.`,
        'ERR_MSB_KEYS',
      );
    }
    if (key !== key.trim() || /\s/.test(key)) {
      fail(`keys[${index}]`, 'contains white space; remove spaces and line breaks around the token.', 'ERR_MSB_KEYS');
    }
    const odd = unusualCharacter(key);
    if (odd)
      fail(
        `keys[${index}]`,
        `has ${odd.kind} at position ${odd.position + 1}; a ModelScope token is plain ASCII. Copy it again from the ` +
          `ModelScope console.`,
        'ERR_MSB_KEYS',
      );
    return {
      key,
      label: optional(`keys[${index}].label`, label, isNonEmptyString, 'must be a non-empty string.'),
      weight: positiveInteger(`keys[${index}].weight`, weight, 1),
      account: optional(`keys[${index}].account`, account, isNonEmptyString, 'must be a non-empty string.'),
    };
  });
  const firstIndex = new Map<string, number>();
  specs.forEach((spec, index) => {
    const earlier = firstIndex.get(spec.key);
    if (earlier !== undefined)
      fail(`keys[${index}]`, `repeats keys[${earlier}]; each key may appear once.`, 'ERR_MSB_KEYS');
    firstIndex.set(spec.key, index);
  });
  const labels = assignLabels(
    specs.map((s) => s.key),
    specs.map((s) => s.label),
  );
  specs.forEach(({ account, label }, index) => {
    if (account !== undefined && specs.some((other) => containsPieceOf(account, other.key))) {
      fail(`keys[${index}].account`, 'contains part of a key; an account name is shown in logs, so choose a name.');
    }
    if (label === undefined) return;
    if (specs.some((other) => containsPieceOf(label, other.key))) {
      fail(`keys[${index}].label`, 'contains part of a key; a label is shown in stats and logs, so choose a name.');
    }
    if (labels.indexOf(label) !== index)
      fail(`keys[${index}].label`, "repeats another key's label; labels must be unique.");
  });
  return specs.map((spec, index) => ({
    key: spec.key,
    label: labels[index],
    weight: spec.weight,
    account: spec.account ?? `key:${labels[index]}`,
    ownAccount: spec.account === undefined,
  }));
}
