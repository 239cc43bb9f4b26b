// Masked labels: the only way a key is ever named in stats, logs and metrics.
// A label never holds 12 consecutive characters of its key, so leak checks
// that look for 12-character pieces stay meaningful.

/** How many characters of a key a label shows at each end, by key length. */
function visibleEnds(length: number): [number, number] {
  if (length >= 24) return [5, 4];
  if (length >= 12) return [2, 2];
  return [0, 0];
}

export function maskKey(key: string, index: number): string {
  const [head, tail] = visibleEnds(key.length);
  if (head === 0) return `key-${index + 1}`;
  return `${key.slice(0, head)}…${key.slice(key.length - tail)}`;
}

/** True when `text` contains any `size`-character piece of `secret`. */
export function containsPieceOf(text: string, secret: string, size = 12): boolean {
  if (secret.length < size) return text.includes(secret);
  for (let start = 0; start + size <= secret.length; start++) {
    if (text.includes(secret.slice(start, start + size))) return true;
  }
  return false;
}

/**
 * Labels for all keys: a user's own label when given, else the masked form,
 * made unique with a `#n` suffix when two keys mask alike.
 */
export function assignLabels(keys: readonly string[], custom: readonly (string | undefined)[]): string[] {
  const seen = new Map<string, number>();
  return keys.map((key, index) => {
    const base = custom[index] ?? maskKey(key, index);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}#${count}`;
  });
}
