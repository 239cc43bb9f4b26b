import type { IncomingMessage } from 'node:http';
import qs from 'qs';
import { readModel } from '../upstream/request-model.js';

/** The request body as bytes, ready to be sent (and sent again on failover). */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 400 | 413 | 503; message: string };

const EMPTY = Buffer.alloc(0);

function tooLarge(limit: number): BodyResult {
  return {
    ok: false,
    status: 413,
    message: `Request body is larger than the limit of ${limit} bytes (option maxBodyBytes).`,
  };
}

function hasObjectInArray(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => typeof item === 'object' && item !== null);
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(hasObjectInArray);
}

/**
 * Re-encodes a body that a host app's parser (express.json, urlencoded, raw,
 * text) already consumed, so the upstream receives the same value.
 */
function encodeParsedBody(req: IncomingMessage, parsed: unknown): Buffer {
  if (parsed === undefined || parsed === null) return EMPTY;
  if (Buffer.isBuffer(parsed)) return parsed;
  if (typeof parsed === 'string') return Buffer.from(parsed, 'utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/x-www-form-urlencoded')) {
    // Flat repeated fields stay `a=1&a=2`; arrays of objects need indexes to keep their shape.
    return Buffer.from(qs.stringify(parsed, { arrayFormat: hasObjectInArray(parsed) ? 'indices' : 'repeat' }), 'utf8');
  }
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}

function busy(): BodyResult {
  return {
    ok: false,
    status: 503,
    message: 'The balancer holds as many request bodies as it may (option maxBufferedBytes); try again shortly.',
  };
}

/** Whether an earlier middleware read the stream already (body-parser 1 sets `_body`, 2 leaves it ended). */
function alreadyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || (req as { _body?: boolean })._body === true;
}

/**
 * Reads the whole body, up to `limit` bytes. Bodies are small JSON for chat
 * calls; holding them lets a failed attempt be replayed on another key byte
 * for byte.
 */
export function readRequestBody(
  req: IncomingMessage & { body?: unknown },
  limit: number,
  reserve: (bytes: number) => boolean = () => true,
): Promise<BodyResult> {
  if (alreadyConsumed(req)) {
    const body = encodeParsedBody(req, req.body);
    if (body.length > limit) return Promise.resolve(tooLarge(limit));
    return Promise.resolve(reserve(body.length) ? { ok: true, body } : busy());
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve(tooLarge(limit));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish(tooLarge(limit));
        return;
      }
      if (!reserve(chunk.length)) {
        req.pause();
        finish(busy());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    const onError = (): void => finish({ ok: false, status: 400, message: 'The request body could not be read.' });
    const onClose = (): void => {
      if (!req.readableEnded) onError();
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * The `model` field of a JSON body, read only when needed (per-model quota, model routes, allowlists): scanned for in
 * the bytes (readModel) rather than by parsing the whole body, which costs a big body's worth of objects.
 */
export function modelOf(body: Buffer, contentType: string | undefined): string | undefined {
  if (body.length === 0 || (contentType !== undefined && !contentType.includes('json'))) return undefined;
  const model = readModel(body);
  return model !== undefined && model.length <= 200 ? model : undefined;
}
