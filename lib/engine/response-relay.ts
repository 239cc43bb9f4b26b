// Sends the chosen upstream answer to the client: streamed as it arrives
// (scrubbed chunk by chunk), or read whole first when it must be inspected.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { PeekedBody } from './error-peek.js';
import type { ErrorDialect } from '../answers/dialect.js';
import { sendError } from '../answers/send.js';
import { describeFailure } from '../upstream/attempt-outcome.js';
import { codingOf, decodeBody, decoderFor, MAX_BUFFERED_BODY } from './body-coding.js';
import { downstreamHeaders } from '../upstream/headers.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import type { UpstreamAttempt } from '../upstream/upstream-attempt.js';

export interface RelayHooks {
  /** The upstream body ended normally and the client has it all. */
  completed(): void;
  /** The upstream body broke after the headers (reset, idle timeout). */
  broke(): void;
  /** The client stopped reading for longer than the idle limit and was cut off: its doing, not the key's. */
  clientStalled(): void;
  /** The whole body of a buffered answer, scrubbed, before it is sent; may replace it. */
  finish?(body: Buffer, headers: OutgoingHttpHeaders): Buffer;
}

/**
 * Sees an answer's body as it passes to the client, decoded, without holding it up (usage accounting reads the
 * `usage` of a JSON answer or of a stream's last chunks here): each chunk, then the end.
 */
export interface RelayTap {
  chunk(bytes: Buffer): void;
  /** The body ended: `complete` false when it broke off or was cut. */
  end(complete: boolean): void;
}

export interface RelayContext {
  scrubber: KeyScrubber;
  attempt: UpstreamAttempt;
  /** The balancer's own headers, added to the answer's (and to our error in its place). */
  headers: Record<string, string>;
  /** How long a client may leave a chunk unread before it is cut off. */
  writeTimeoutMs: number;
  /** How long a body read whole (an error, an async submission) may take in all: a trickle must not hold the client. */
  bodyDeadlineMs: number;
  /** The request's error dialect: the last event of a broken stream, our error in place of a broken body. */
  dialect: ErrorDialect;
  tap?: RelayTap;
}

/** The last event of a stream that broke midway, in the request's dialect. */
function interruptedEvent(relay: RelayContext): string {
  const reason = describeFailure(relay.attempt.breakReason);
  const message = `The upstream stream was interrupted (${reason}); the answer is incomplete.`;
  return relay.dialect.streamError(502, 'stream_interrupted', message);
}

function isEventStream(headers: OutgoingHttpHeaders): boolean {
  return String(headers['content-type'] ?? '').includes('text/event-stream');
}

/** Response headers fit for the client: no hop-by-hop ones, no key piece in any value, ours added. */
function clientHeaders(response: IncomingMessage, relay: RelayContext): OutgoingHttpHeaders {
  return Object.assign(downstreamHeaders(response.headers, relay.scrubber), relay.headers);
}

/** The flush a compression middleware (the `compression` package) adds to the response, if any. */
function flushOf(res: ServerResponse & { flush?: unknown }): (() => void) | undefined {
  const { flush } = res;
  return typeof flush === 'function' ? () => flush.call(res) : undefined;
}

/**
 * Streams an answer to the client as it arrives: SSE chunks go out when the
 * upstream writes them, scrubbed of key pieces. When the client stops reading,
 * we stop reading the upstream (the idle timer waits: that silence is ours),
 * and a client that reads nothing for `writeTimeoutMs` is cut off. A body that
 * breaks midway ends promptly, an event stream with a last error event.
 */
export function streamResponse(
  response: IncomingMessage,
  res: ServerResponse,
  relay: RelayContext,
  hooks: RelayHooks,
): void {
  const { attempt } = relay;
  const headers = clientHeaders(response, relay);
  const coding = codingOf(response.headers['content-encoding']);
  const decoder = coding && decoderFor(coding);
  if (decoder) {
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  const eventStream = isEventStream(headers);
  // Nothing between us and the client may hold events back: a compression middleware in the host app
  // (no-transform), or nginx, which buffers a proxied answer unless told not to (X-Accel-Buffering).
  if (eventStream) {
    headers['cache-control'] = 'no-cache, no-transform';
    headers['x-accel-buffering'] = 'no';
  }
  res.writeHead(response.statusCode ?? 502, headers);
  // An event stream's headers go out now (the client sees the stream open); others ride with the first chunk.
  if (eventStream) res.flushHeaders();
  const scrub = relay.scrubber.stream();
  // A compression middleware's flush, so each event leaves at once rather than when its buffer fills.
  const flush = flushOf(res);
  let settled = false;
  let writeTimer: NodeJS.Timeout | undefined;
  const source: NodeJS.ReadableStream = decoder ? response.pipe(decoder) : response;

  const { tap } = relay;
  const onBreak = (): void => {
    if (settled) return;
    settled = true;
    clearTimeout(writeTimer);
    tap?.end(false);
    hooks.broke();
    if (eventStream && !res.destroyed) {
      res.end(interruptedEvent(relay));
      cutIfStalled(res, relay.writeTimeoutMs);
    } else {
      res.destroy();
    }
  };
  const send = (chunk: Buffer): void => {
    if (chunk.length === 0 || res.destroyed) return;
    const more = res.write(chunk);
    flush?.();
    if (more || writeTimer) return;
    source.pause();
    attempt.hold();
    writeTimer = setTimeout(() => {
      settled = true;
      tap?.end(false);
      hooks.clientStalled();
      res.destroy();
      attempt.abort();
      hooks.broke();
    }, relay.writeTimeoutMs);
    res.once('drain', () => {
      clearTimeout(writeTimer);
      writeTimer = undefined;
      attempt.touched();
      source.resume();
    });
  };
  source.on('data', (chunk: Buffer) => {
    attempt.touched();
    tap?.chunk(chunk);
    send(scrub.push(chunk));
  });
  source.once('end', () => {
    if (settled) return;
    settled = true;
    clearTimeout(writeTimer);
    send(scrub.end());
    tap?.end(true);
    res.end();
    cutIfStalled(res, relay.writeTimeoutMs);
    hooks.completed();
  });
  decoder?.once('error', () => {
    response.destroy();
    onBreak();
  });
  response.once('error', onBreak);
  response.once('close', () => {
    if (!response.complete) onBreak();
  });
}

/**
 * After the last write: a client that reads nothing more for `ms` is cut off,
 * so what it left unread (and its socket) is not held for ever.
 */
export function cutIfStalled(res: ServerResponse, ms: number): void {
  if (res.writableFinished || res.destroyed) return;
  let timer = setTimeout(() => res.destroy(), ms);
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => res.destroy(), ms);
  };
  res.on('drain', refresh);
  const done = () => {
    clearTimeout(timer);
    res.off('drain', refresh);
  };
  res.once('finish', done).once('close', done);
}

/**
 * Reads a whole (small) answer, scrubs it, lets `hooks.finish` see or reshape
 * it, and sends it with a correct Content-Length. Used for errors and for async
 * submissions whose task id must be remembered. An answer over 1 MiB is never
 * cut and passed off as whole: the client gets our own error saying so. What
 * was read before the verdict (`peeked`) counts toward both limits.
 */
export function bufferResponse(
  response: IncomingMessage,
  res: ServerResponse,
  relay: RelayContext,
  hooks: RelayHooks,
  peeked?: PeekedBody,
): void {
  const chunks: Buffer[] = peeked ? [...peeked.chunks] : [];
  let size = peeked?.bytes ?? 0;
  let settled = false;
  const status = response.statusCode ?? 502;
  const fail = (): void => {
    if (settled) return;
    settled = true;
    relay.tap?.end(false);
    hooks.broke();
    const reason = describeFailure(relay.attempt.breakReason);
    const message = `The upstream answer broke off (${reason}).`;
    sendError(res, 502, 'stream_interrupted', message, relay.headers, relay.dialect);
  };
  const tooLarge = (): void => {
    settled = true;
    relay.tap?.end(false);
    relay.attempt.abort();
    hooks.completed();
    sendError(
      res,
      status >= 400 ? status : 502,
      'upstream_answer_too_large',
      `The upstream answered ${status} with a body over ${MAX_BUFFERED_BODY} bytes; it was not passed on.`,
      relay.headers,
      relay.dialect,
    );
  };
  const finish = (): void => {
    if (settled) return;
    settled = true;
    const headers = clientHeaders(response, relay);
    const encoding = response.headers['content-encoding'];
    const decoded = decodeBody(Buffer.concat(chunks), encoding);
    if (decoded === undefined && status < 400) {
      // A success whose body can't be read is no success: never a 200 with an error in it.
      relay.tap?.end(false);
      hooks.completed();
      const message = 'The upstream sent a compressed body that could not be read.';
      return sendError(res, 502, 'upstream_error', message, relay.headers, relay.dialect);
    }
    if (codingOf(encoding)) delete headers['content-encoding'];
    let body = relay.scrubber.scrubBuffer(
      decoded ??
        Buffer.from(
          JSON.stringify({ error: { message: 'The upstream sent a compressed body that could not be read.' } }),
        ),
    );
    if (hooks.finish) body = hooks.finish(body, headers);
    if (relay.tap) {
      relay.tap.chunk(body);
      relay.tap.end(true);
    }
    headers['content-length'] = String(body.length);
    if (!res.destroyed && !res.headersSent) {
      res.writeHead(status, headers);
      res.end(body);
    }
    hooks.completed();
  };
  if (peeked?.state === 'broken') return fail();
  if (peeked?.state === 'whole') return finish();
  // Cut while the verdict was read: its 'close' has fired already and would never end this wait.
  if (peeked && response.destroyed) return fail();
  const elapsed = peeked ? performance.now() - peeked.startedAt : 0;
  const deadline = setTimeout(
    () => {
      relay.attempt.breakReason = 'idle_timeout';
      response.destroy();
    },
    Math.max(1, relay.bodyDeadlineMs - elapsed),
  );
  response.once('close', () => clearTimeout(deadline));
  response.on('data', (chunk: Buffer) => {
    if (settled) return;
    relay.attempt.touched();
    size += chunk.length;
    if (size > MAX_BUFFERED_BODY) return tooLarge();
    chunks.push(chunk);
  });
  response.once('error', fail);
  response.once('close', () => {
    if (!response.complete) fail();
  });
  response.once('end', finish);
  // A peek paused the rest of the body.
  if (peeked) response.resume();
}
