// The `model` a request asks for, read and replaced in the body's own bytes.
// A model allowlist reads it on every request; a model route replaces it and
// forwards everything else exactly as the client sent it: a JSON.parse and
// JSON.stringify round trip would round big integers (12345678901234567890),
// re-escape strings, drop duplicate keys and re-space the body, and a provider
// or cache that hashes the prompt would see a different request. Chat bodies
// (streamed or not), image task submissions and Anthropic messages all carry
// `model` at the top level.
import { findTopLevelMember, type ValueRange } from './json-members.js';

/** The range of the top-level `model` JSON.parse would keep, when the body is a JSON object and it is a string. */
function modelRange(body: Buffer): ValueRange | undefined {
  const range = findTopLevelMember(body, 'model');
  return range && body[range.start] === 0x22 ? range : undefined;
}

/**
 * The top-level `model` of a JSON object body: what `JSON.parse(body).model` is when that is a string, else
 * undefined (not JSON, not an object, no `model`, or a `model` that is no string). Reads the body once, without
 * parsing anything but that one string, and holds no copy of it.
 *
 * A caller that allows only some models must refuse a body this cannot read (undefined), not pass it: a body that
 * JSON.parse refuses may still be read by a laxer parser upstream (one that takes `NaN`, say).
 */
export function readModel(body: Buffer): string | undefined {
  const range = modelRange(body);
  if (!range) return undefined;
  const inner = body.subarray(range.start + 1, range.end - 1);
  // Model ids are plain ASCII in practice: only a value with an escape in it needs decoding.
  return inner.includes(0x5c) ? JSON.parse(body.toString('utf8', range.start, range.end)) : inner.toString('utf8');
}

/**
 * The body with the value of its top-level `model` (the last one, which JSON.parse keeps, when it is given twice)
 * replaced by `model`, JSON-encoded; every other byte stays as sent. Undefined when `readModel` would be: the body is
 * not a JSON object or has no top-level string `model` (so there is nothing to replace, and nothing is added).
 */
export function rewriteModel(body: Buffer, model: string): Buffer | undefined {
  const range = modelRange(body);
  if (!range) return undefined;
  return Buffer.concat([
    body.subarray(0, range.start),
    Buffer.from(JSON.stringify(model), 'utf8'),
    body.subarray(range.end),
  ]);
}
