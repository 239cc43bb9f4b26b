// What a pool key may look like. By default a ModelScope access token (`ms-`
// and a UUID): syntax alone cannot tell a half-written line of a keys file, a
// base64 blob or `KEY=value` from a key, but a token's exact shape can. The
// `any` format, for other targets, still refuses what could never be a key.
// Every message names where the key is wrong, never any of its characters.

/** The formats `keyFormat` accepts. */
export const KEY_FORMATS = ['modelscope', 'any'] as const;

export type KeyFormat = (typeof KEY_FORMATS)[number];

/** Length bounds of a key in the `any` format: shorter could occur in any text by chance; longer is not a token. */
export const ANY_KEY_LENGTH = { min: 16, max: 256 } as const;

const MODELSCOPE_TOKEN = /^(?:ms-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ANY_KEY = /^[A-Za-z0-9._-]*$/;

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

const TOKEN_SHAPE =
  'a ModelScope token is `ms-` followed by a UUID (8-4-4-4-12 hex digits, 39 characters in all): copy it again ' +
  "from the ModelScope console, or set keyFormat: 'any' (key_format) for a target whose keys look different";

/**
 * Why `key` is not a key in `format`, as the end of a sentence ("is …",
 * "has …"), or undefined when it is one. Never quotes the key.
 */
export function keyFormatProblem(key: string, format: KeyFormat): string | undefined {
  // The common case first: a well-formed key passes one regular expression, with no diagnosis.
  if (format === 'modelscope' ? MODELSCOPE_TOKEN.test(key) : isAnyKey(key)) return undefined;
  if (key === '') return 'is an empty string; a key must be a non-empty string.';
  if (key !== key.trim() || /\s/.test(key)) return 'contains white space; remove spaces and line breaks around it.';
  const odd = unusualCharacter(key);
  if (odd) return `has ${odd.kind} at position ${odd.position + 1}; a key is plain ASCII. Copy it again.`;
  if (format === 'modelscope') return `is not a ModelScope token (${characters(key.length)}); ${TOKEN_SHAPE}.`;
  if (key.length < ANY_KEY_LENGTH.min || key.length > ANY_KEY_LENGTH.max) {
    return (
      `is ${characters(key.length)} long; a key has ${ANY_KEY_LENGTH.min} to ${ANY_KEY_LENGTH.max} (a shorter one ` +
      'is a typo or part of a line, and could turn up in any text by chance).'
    );
  }
  const position = [...key].findIndex((character) => !ANY_KEY.test(character)) + 1;
  return `has a character other than A-Z, a-z, 0-9, \`.\`, \`_\` or \`-\` at position ${position}.`;
}

function isAnyKey(key: string): boolean {
  return key.length >= ANY_KEY_LENGTH.min && key.length <= ANY_KEY_LENGTH.max && ANY_KEY.test(key);
}

function characters(count: number): string {
  return count === 1 ? '1 character' : `${count} characters`;
}

export function isKeyFormat(value: unknown): value is KeyFormat {
  return (KEY_FORMATS as readonly unknown[]).includes(value);
}
