import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TimeoutOptions } from './options.js';
import type { RequestTarget } from './target.js';

/** How an attempt ended before any response byte: it is safe to try another key after each. */
export type AttemptFailure = 'connect' | 'connect_timeout' | 'first_byte_timeout' | 'reset';

export type AttemptResult =
  | { kind: 'response'; response: IncomingMessage; request: ClientRequest }
  | { kind: 'failure'; failure: AttemptFailure; message: string };

export interface AttemptInput {
  target: RequestTarget;
  agent: Agent;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  timeouts: TimeoutOptions;
}

class AttemptTimeout extends Error {
  constructor(readonly failure: AttemptFailure | 'idle_timeout') {
    super(failure.replace('_', ' '));
  }
}

/**
 * Sends one request upstream and resolves at its response headers or its
 * failure. The socket's own timeout covers the wait for the first byte and,
 * once the response arrives, is switched to the idle limit between chunks.
 */
export interface Attempt {
  result: Promise<AttemptResult>;
  abort: () => void;
  /** Why the response stream broke after its headers: 'idle timeout', or 'connection reset'. */
  breakReason: () => string;
}

export function sendAttempt(input: AttemptInput): Attempt {
  const { transport, protocol, hostname, port } = input.target;
  const request = transport.request({
    protocol,
    hostname,
    port,
    method: input.method,
    path: input.path,
    headers: input.headers,
    agent: input.agent,
  });
  let responded = false;
  let breakReason = 'connection reset';
  const result = new Promise<AttemptResult>((resolve) => {
    let connectTimer: NodeJS.Timeout | undefined;
    request.on('socket', (socket) => {
      socket.setNoDelay(true);
      if (!(socket as { connecting?: boolean }).connecting) return;
      connectTimer = setTimeout(() => request.destroy(new AttemptTimeout('connect_timeout')), input.timeouts.connectMs);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    // One socket timeout serves both phases: waiting for headers, then gaps between chunks.
    request.setTimeout(input.timeouts.firstByteMs, () => {
      if (responded) breakReason = 'idle timeout';
      request.destroy(new AttemptTimeout(responded ? 'idle_timeout' : 'first_byte_timeout'));
    });
    request.once('response', (response) => {
      responded = true;
      clearTimeout(connectTimer);
      request.setTimeout(input.timeouts.idleMs);
      resolve({ kind: 'response', response, request });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (responded) return;
      if (error instanceof AttemptTimeout) {
        resolve({ kind: 'failure', failure: error.failure as AttemptFailure, message: error.message });
      } else if (request.reusedSocket || error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        resolve({ kind: 'failure', failure: error.code === 'ECONNREFUSED' ? 'connect' : 'reset', message: error.code ?? 'connection reset' });
      } else {
        resolve({ kind: 'failure', failure: 'connect', message: error.code ?? 'connection failed' });
      }
    });
  });
  request.end(input.body.length > 0 ? input.body : undefined);
  return { result, abort: () => request.destroy(), breakReason: () => breakReason };
}
