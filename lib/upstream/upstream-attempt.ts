// One upstream attempt: the timers of its three phases and how it ended. The
// request itself is made by http-proxy-middleware (see upstream-proxy.ts); this
// object is what travels with the client request while it is under way.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { TimeoutOptions } from '../options/options.js';

/** How an attempt ended before any usable response. */
export type AttemptFailure = 'connect' | 'connect_timeout' | 'first_byte_timeout' | 'reset' | 'protocol' | 'aborted';

/** Why a response body broke off after its headers. */
export type BreakReason = 'idle_timeout' | 'reset';

export type AttemptResult =
  | { kind: 'response'; response: IncomingMessage }
  | { kind: 'failure'; failure: AttemptFailure; sentWhole: boolean; freshSocket: boolean };

/** What one attempt sends: everything but the method, which is the client's. */
export interface AttemptInput {
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  timeouts: Pick<TimeoutOptions, 'connectMs' | 'firstByteMs' | 'idleMs'>;
}

/** Whether a failure means the upstream's answer was too slow (504) rather than unreachable (502). */
export function isTimeout(failure: AttemptFailure | BreakReason): boolean {
  return failure === 'connect_timeout' || failure === 'first_byte_timeout' || failure === 'idle_timeout';
}

type Phase = 'connect_timeout' | 'first_byte_timeout' | 'idle_timeout';

export class UpstreamAttempt {
  readonly result: Promise<AttemptResult>;
  request: ClientRequest | undefined;
  response: IncomingMessage | undefined;
  /** Why the body broke, once it has. */
  breakReason: BreakReason = 'reset';
  private resolveResult!: (result: AttemptResult) => void;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  /** The phase being timed and when it expires (performance.now()); the timer is re-armed lazily. */
  private phase: Phase | undefined;
  private deadline = 0;
  private expired: Phase | undefined;
  private sentWhole = false;
  private freshSocket = true;

  constructor(readonly input: AttemptInput) {
    this.result = new Promise((resolve) => {
      this.resolveResult = resolve;
    });
  }

  /**
   * Called from http-proxy's `proxyReq` event, before anything is written
   * (the request already has our headers, see `UpstreamProxy`): sets our path,
   * writes the held body, and starts the connect or first-byte timer.
   */
  bind(request: ClientRequest, socket: Socket): void {
    this.request = request;
    if (this.settled) {
      request.destroy();
      return;
    }
    request.path = this.input.path;
    if (this.input.body.length > 0) request.write(this.input.body);
    request.on('error', (error: NodeJS.ErrnoException) => this.fail(error));
    request.once('finish', () => {
      this.sentWhole = true;
    });
    // A reused keep-alive socket: a reset before any byte of the answer means the upstream never saw the request.
    this.freshSocket = !request.reusedSocket;
    // Node gives a 101 without a listener no 'response' and no 'error', only 'close': that must not hang.
    request.once('close', () => this.fail('protocol'));
    request.on('information', (info: { statusCode: number }) => {
      if (info.statusCode !== 100) this.fail('protocol');
    });
    if ((socket as { connecting?: boolean }).connecting) {
      this.arm('connect_timeout', this.input.timeouts.connectMs);
      socket.once('connect', () => {
        if (!this.settled) this.arm('first_byte_timeout', this.input.timeouts.firstByteMs);
      });
    } else {
      this.arm('first_byte_timeout', this.input.timeouts.firstByteMs);
    }
  }

  /** The response headers arrived: from now on the idle limit applies between chunks. */
  respond(response: IncomingMessage): void {
    if (this.settled) {
      response.destroy();
      return;
    }
    const status = response.statusCode ?? 0;
    if (status < 200) return this.fail('protocol');
    this.settled = true;
    this.response = response;
    this.arm('idle_timeout', this.input.timeouts.idleMs);
    response.once('close', () => this.disarm());
    this.resolveResult({ kind: 'response', response });
  }

  /** http-proxy reported an error: a timer of ours, a refused connection, a reset … */
  fail(cause: AttemptFailure | NodeJS.ErrnoException): void {
    if (this.settled) return;
    this.settled = true;
    this.disarm();
    this.request?.destroy();
    const failure = typeof cause === 'string' ? cause : this.classify(cause);
    this.resolveResult({ kind: 'failure', failure, sentWhole: this.sentWhole, freshSocket: this.freshSocket });
  }

  /** The client left or the answer is no longer wanted: free the upstream socket now. */
  abort(): void {
    this.fail('aborted');
    this.disarm();
    this.request?.destroy();
    this.response?.destroy();
  }

  /** A body chunk arrived: the idle limit starts again. */
  touched(): void {
    if (this.response && !this.expired) this.arm('idle_timeout', this.input.timeouts.idleMs);
  }

  /**
   * The client is not reading, so we stopped reading the upstream: its silence
   * is our doing, not the key's, and the idle timer waits.
   */
  hold(): void {
    this.disarm();
  }

  private classify(error: NodeJS.ErrnoException): AttemptFailure {
    if (this.expired === 'connect_timeout' || this.expired === 'first_byte_timeout') return this.expired;
    const code = error.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset';
    if (code.startsWith('HPE_')) return 'protocol';
    return 'connect';
  }

  /**
   * Starts timing `phase`. Chunks re-arm the idle limit often, so one timer
   * is kept and only moves the deadline; when it fires early it sleeps again
   * for what is left (as Node's own socket timeouts do).
   */
  private arm(phase: Phase, ms: number): void {
    this.phase = phase;
    const deadline = performance.now() + ms;
    const sooner = this.timer === undefined || deadline < this.deadline;
    this.deadline = deadline;
    if (sooner) this.schedule(ms);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(1, ms));
  }

  private fire(): void {
    this.timer = undefined;
    const phase = this.phase;
    if (phase === undefined) return;
    const left = this.deadline - performance.now();
    if (left > 1) return this.schedule(left);
    this.phase = undefined;
    this.expire(phase);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = undefined;
  }

  private expire(phase: Phase): void {
    this.expired = phase;
    if (phase === 'idle_timeout') {
      this.breakReason = 'idle_timeout';
      this.response?.destroy();
      this.request?.destroy();
      return;
    }
    this.fail(phase);
  }
}
