// Bodies we asked to get as identity (so they can be scrubbed) that came compressed anyway: undone here, when we
// know the coding, and never past the size a body read whole may have.
import zlib from 'node:zlib';

/** Answers read whole (errors, async submissions) larger than this are replaced by our own error. */
export const MAX_BUFFERED_BODY = 1024 * 1024;

export type Coding = 'gzip' | 'deflate' | 'br';

/** The compression of a body we asked to get as identity but that came compressed anyway, if we can undo it. */
export function codingOf(encoding: string | undefined): Coding | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return undefined;
  }
}

export function decoderFor(coding: Coding): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress {
  if (coding === 'br') return zlib.createBrotliDecompress();
  return coding === 'deflate' ? zlib.createInflate() : zlib.createGunzip();
}

/**
 * A body the upstream compressed although we asked for identity, decoded (at most 1 MiB); the body itself when
 * it names no coding we know; undefined when it can't be read.
 */
export function decodeBody(raw: Buffer, encoding: string | undefined): Buffer | undefined {
  const coding = codingOf(encoding);
  if (!coding) return raw;
  try {
    return decompress(coding, raw);
  } catch {
    return undefined;
  }
}

function decompress(coding: Coding, raw: Buffer): Buffer {
  const options = { maxOutputLength: MAX_BUFFERED_BODY };
  if (coding === 'br') return zlib.brotliDecompressSync(raw, options);
  return coding === 'deflate' ? zlib.inflateSync(raw, options) : zlib.gunzipSync(raw, options);
}
