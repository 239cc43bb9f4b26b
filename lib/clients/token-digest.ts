// A client token is kept only as its SHA-256 digest: equal-length values that can be compared in constant time, and
// nothing in memory (a heap dump, a debugger) that could be sent as the token.
import { createHash } from 'node:crypto';

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
