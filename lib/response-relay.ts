import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, streamErrorEvent } from './error-response.js';
import { downstreamHeaders } from './headers.js';
import type { KeyScrubber } from './scrub.js';

/** Error bodies are read whole (to scrub echoed tokens); past this size the rest is cut. */
const MAX_BUFFERED_BODY = 1024 * 1024;

export interface RelayHooks {
  /** The upstream body ended normally and the client has it all. */
  completed(): void;
  /** The upstream body broke after the headers went out (reset, idle timeout). */
  broke(): void;
  /** Called with the whole body of a buffered answer before it is sent. */
  inspect?(body: Buffer): void;
  breakReason(): string;
}

function isEventStream(response: IncomingMessage): boolean {
  return (response.headers['content-type'] ?? '').includes('text/event-stream');
}

/**
 * Streams an upstream answer to the client as it arrives: no buffering, so
 * SSE chunks reach the client when the upstream writes them. A stream that
 * breaks midway ends promptly; an event stream gets a last error event, and
 * anything else is cut so the client sees it incomplete.
 */
export function streamResponse(response: IncomingMessage, res: ServerResponse, hooks: RelayHooks): void {
  res.writeHead(response.statusCode ?? 502, downstreamHeaders(response.headers));
  let settled = false;
  const onBreak = (): void => {
    if (settled) return;
    settled = true;
    response.unpipe(res);
    hooks.broke();
    if (isEventStream(response) && !res.destroyed) res.end(streamErrorEvent(hooks.breakReason()));
    else res.destroy();
  };
  response.once('end', () => {
    if (settled) return;
    settled = true;
    hooks.completed();
  });
  response.once('error', onBreak);
  response.once('close', () => {
    if (!response.complete) onBreak();
  });
  response.pipe(res);
}

/**
 * Reads a whole (small) answer, lets `hooks.inspect` see it, scrubs echoed
 * tokens and sends it with a correct Content-Length. Used for errors and for
 * async submissions whose task id must be remembered.
 */
export function bufferResponse(response: IncomingMessage, res: ServerResponse, scrubber: KeyScrubber, hooks: RelayHooks): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const fail = (): void => {
    if (settled) return;
    settled = true;
    hooks.broke();
    if (res.headersSent || res.destroyed) res.destroy();
    else sendError(res, 502, 'stream_interrupted', `The upstream answer broke off (${hooks.breakReason()}).`);
  };
  response.on('data', (chunk: Buffer) => {
    if (size + chunk.length <= MAX_BUFFERED_BODY) chunks.push(chunk);
    size += chunk.length;
  });
  response.once('error', fail);
  response.once('close', () => {
    if (!response.complete) fail();
  });
  response.once('end', () => {
    if (settled) return;
    settled = true;
    const raw = Buffer.concat(chunks);
    hooks.inspect?.(raw);
    const body = scrubber.scrubBuffer(raw);
    const headers = downstreamHeaders(response.headers);
    delete headers['content-length'];
    headers['content-length'] = String(body.length);
    if (!res.destroyed) {
      res.writeHead(response.statusCode ?? 502, headers);
      res.end(body);
    }
    hooks.completed();
  });
}
