// One client request on its way through the pool, in stages: admission (a
// method and path we forward), the body (read once, within the budget of
// bodies held at once), gates before any upstream call, the attempts (the
// failover loop), the answer (relayed, or our own), and the end (the
// `request` event, the body's bytes given back). Facts about the request
// (its model, a polled task) are read when a stage first asks.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { dialectOf, type ErrorDialect } from '../answers/dialect.js';
import { answerNoKey } from '../answers/no-key-answer.js';
import { sendError } from '../answers/send.js';
import { answerUsedUpModels, modelListFinish, withModelHeader } from '../model-routes/routed-answer.js';
import type { RouteWalk } from '../model-routes/route-walk.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { UpstreamAttempt } from '../upstream/upstream-attempt.js';
import { admit } from './admission.js';
import { AttemptLoop, type LoopEnd, type LoopRequest } from './attempt-loop.js';
import { ATTEMPTS_HEADER, answerWith, REQUEST_ID_HEADER } from './chosen-answer.js';
import { modelOf, readRequestBody } from './request-body.js';
import type { Refusal, RequestDeps } from './request-deps.js';
import type { ClientTicket } from '../clients/client-ticket.js';

const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
const EMPTY = Buffer.alloc(0);

export class RequestFlow implements LoopRequest {
  readonly id: string;
  readonly startedAt = performance.now();
  readonly method: string;
  readonly url: string;
  readonly clientHeaders: IncomingHttpHeaders;
  readonly dialect: ErrorDialect;
  readonly tried = new Set<string>();
  upstreamCalls = 0;
  body: Buffer = EMPTY;
  clientGone = false;
  current: UpstreamAttempt | undefined;
  lastEntry: PoolEntry | undefined;
  /** The named client that sent the request, once clients are named. */
  client: string | undefined;
  /** The model route the request follows, when its model names one. */
  route: RouteWalk | undefined;
  private heldBytes = 0;
  private model: string | undefined | null = null;

  constructor(
    private readonly deps: RequestDeps,
    readonly req: IncomingMessage & { body?: unknown },
    readonly res: ServerResponse,
    /** The client's limits and figures, when the request presented a client's token or an access token. */
    readonly ticket?: ClientTicket,
  ) {
    this.client = ticket?.name;
    // Read once: while http-proxy copies an attempt's headers, `req.headers` briefly holds those (header-lending.ts).
    this.clientHeaders = req.headers;
    const given = req.headers['x-request-id'];
    this.id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.dialect = dialectOf(req);
  }

  async run(): Promise<void> {
    this.res.once('close', () => this.ended());
    // Set now, not with the answer: the host app's own middleware (a request logger) can read it at any time.
    this.res.setHeader(REQUEST_ID_HEADER, this.id);
    if (this.deps.events.listening('request'))
      this.deps.events.emit('request', { phase: 'start', id: this.id, method: this.method, path: this.path() });
    const path = this.admitted();
    if (path === undefined || !(await this.bodyRead()) || (await this.refusedByGate())) return;
    this.route = this.deps.modelRoutes.walk(this);
    this.answer(await new AttemptLoop(this.deps, this, path).run());
  }

  /** The request's model, parsed from the body at most once and only when asked. */
  modelName(): string | undefined {
    if (this.model === null) this.model = modelOf(this.body, this.clientHeaders['content-type']);
    return this.model;
  }

  readonly upstreamBody = (): Buffer => (this.route ? this.route.body(this.body) : this.body);
  readonly upstreamModel = (): string | undefined => this.route?.model ?? this.modelName();

  /** The path relative to the mount point, without the query. */
  private path(): string {
    return this.url.split('?', 1)[0];
  }

  /** A method we forward and a path that stays under the target's: the upstream path, or undefined (answered). */
  private admitted(): string | undefined {
    const admitted = admit(this.method, this.url, this.deps.targetPath);
    if ('path' in admitted) return admitted.path;
    this.refuse(admitted.refusal);
    return undefined;
  }

  /** Reads the body (413 past maxBodyBytes, 503 past the budget of bodies held at once); false when answered. */
  private async bodyRead(): Promise<boolean> {
    const { deps } = this;
    const read = await readRequestBody(this.req, deps.maxBodyBytes, (bytes) => {
      if (!deps.bodies.take(bytes)) return false;
      this.heldBytes += bytes;
      return true;
    });
    if (this.clientGone) return false;
    if (read.ok) {
      this.body = read.body;
      return true;
    }
    const code = read.status === 413 ? 'request_too_large' : read.status === 503 ? 'server_busy' : 'bad_request';
    const headers: Record<string, string> = read.status === 503 ? { 'retry-after': '1' } : {};
    this.refuse({ status: read.status, code, message: read.message, headers: { ...headers, connection: 'close' } });
    return false;
  }

  private async refusedByGate(): Promise<boolean> {
    for (const gate of this.deps.gates) {
      const refusal = await gate(this);
      if (this.clientGone) return true;
      if (refusal) {
        this.refuse(refusal);
        return true;
      }
    }
    return false;
  }

  private answer(end: LoopEnd): void {
    const { deps } = this;
    switch (end.kind) {
      case 'answer':
        return answerWith(deps, this.answerTo(), end.outcome);
      case 'timeout': {
        const message = 'No answer within the request deadline (timeouts.totalMs).';
        return this.refuse({ status: 504, code: 'upstream_timeout', message, headers: this.ownHeaders() });
      }
      case 'no_key':
        deps.noKey(end.reason.kind);
        if (answerUsedUpModels(deps, this, end.reason, this.ownHeaders())) return;
        return answerNoKey(this.res, end.reason, deps.now(), this.ownHeaders(), this.dialect);
      default:
    }
  }

  private answerTo() {
    return {
      clientHeaders: this.clientHeaders,
      method: this.method,
      res: this.res,
      dialect: this.dialect,
      headers: this.ownHeaders(),
      clientGone: () => this.clientGone,
      clientStalled: () => {
        this.clientGone = true;
      },
      finish: modelListFinish(this.deps.modelRoutes, this.method, this.path()),
      tap: this.ticket?.tap,
    };
  }

  /** What every answer after an attempt carries besides the request id (set on the response from the start). */
  private ownHeaders(): Record<string, string> {
    return withModelHeader({ [ATTEMPTS_HEADER]: String(this.tried.size) }, this.route);
  }

  private refuse({ status, code, message, headers }: Refusal): void {
    sendError(this.res, status, code, message, headers, this.dialect);
  }

  /** The response closed: a client that left aborts the attempt under way; the body's bytes go back. */
  private ended(): void {
    const { res, deps } = this;
    if (!res.writableFinished) {
      this.clientGone = true;
      this.current?.abort();
    }
    deps.bodies.give(this.heldBytes);
    const usage = this.ticket?.finish(this.upstreamCalls, this.modelName());
    if (!deps.events.listening('request')) return;
    deps.events.emit('request', {
      phase: 'end',
      id: this.id,
      method: this.method,
      path: this.path(),
      status: res.statusCode,
      attempts: this.tried.size,
      key: this.lastEntry?.label ?? null,
      durationMs: performance.now() - this.startedAt,
      clientClosed: this.clientGone,
      ...(typeof this.model === 'string' ? { model: this.route?.model ?? this.model } : {}),
      ...(this.route ? { route: this.route.name } : {}),
      ...(this.client === undefined ? {} : { client: this.client }),
      ...(usage === undefined ? {} : { usage }),
    });
  }
}
