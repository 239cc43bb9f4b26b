import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { BehaviourRule, FakeBalance, FakeCounter, FakePoints, FakeQuota, ProbeBehaviour } from './behaviours.js';
import { json, modelOf } from './bodies.js';
import { answerChat } from './chat.js';
import { answerCountTokens, answerMessages, COUNT_TOKENS_PATH, MESSAGES_PATH } from './messages.js';
import { Metering } from './metering.js';
import { misbehave } from './misbehaviour.js';

/** Where the imitation answers balance queries, as ModelScope's reported endpoint does. */
export const BALANCE_PATH = '/openapi/v1/magicubes/balance';

/** What the imitation received, for assertions. */
export interface ReceivedRequest {
  /** The token it saw: `Authorization: Bearer …`, else `x-api-key` (as Anthropic's SDKs send it). */
  key: string | undefined;
  /** Which header carried `key`. */
  keyHeader: 'authorization' | 'x-api-key' | undefined;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** When the request arrived (performance.now()). */
  at: number;
}

export interface FakeModelScopeOptions {
  /** Valid tokens; others get 401. Defaults to accepting any token. */
  keys?: string[];
  /** Chunks in an SSE answer (text deltas on /v1/messages). Defaults to 5. */
  streamChunks?: number;
  /** Milliseconds between SSE chunks. Defaults to 10. */
  streamIntervalMs?: number;
  /** Port on 127.0.0.1. Defaults to 0 (any free port). */
  port?: number;
  /** A base path the imitation serves under (as behind a gateway at `/gw`). Defaults to none. */
  basePath?: string;
  /** Serve HTTPS with this key and certificate (PEM), as ModelScope is served. Defaults to plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Whether answers carry ModelScope's quota counters (`modelscope-ratelimit-*`). `false` imitates a host that sends
   * none: quotas are still enforced, with a plain 429. Defaults to true.
   */
  counters?: boolean;
  /** The model ids `GET /v1/models` lists. Defaults to `['Qwen/Qwen2.5-7B-Instruct']`. */
  models?: string[];
}

const LISTED_MODELS = ['Qwen/Qwen2.5-7B-Instruct'];

/**
 * The token a request carries: ModelScope's `Authorization: Bearer`, or `x-api-key` (Anthropic's SDKs with `apiKey`,
 * Claude Code with ANTHROPIC_API_KEY). A request with both is read by its bearer token.
 */
function credential(req: IncomingMessage): Pick<ReceivedRequest, 'key' | 'keyHeader'> {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return { key: bearer, keyHeader: 'authorization' };
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return { key: apiKey, keyHeader: 'x-api-key' };
  return { key: undefined, keyHeader: undefined };
}

/**
 * An imitation of ModelScope API-Inference on loopback: chat completions
 * (JSON and SSE), Anthropic's Messages API (`/v1/messages`, JSON and SSE, and
 * token counting), /v1/models, async image tasks, quota headers, and failures
 * chosen per key. The tests use it, and so can yours
 * (`import { startFakeModelScope } from 'modelscope-balance/testing'`).
 */
export class FakeModelScope {
  readonly received: ReceivedRequest[] = [];
  private readonly rules = new Map<string, BehaviourRule>();
  private readonly probes = new Map<string, ProbeBehaviour>();
  private readonly metering: Metering;
  private readonly tasks = new Map<string, string | undefined>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private taskCounter = 0;
  url = '';
  /** TCP connections accepted so far (with `tls`, TLS handshakes): shows whether a client reuses sockets. */
  connections = 0;
  /** Requests whose client went away before the answer was complete. */
  abandoned = 0;

  constructor(private readonly options: FakeModelScopeOptions = {}) {
    this.metering = new Metering(options.counters ?? true);
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    // An https.Server is an http.Server for everything used here (listen, close, 'connection': one per handshake).
    this.server = options.tls
      ? (https.createServer(options.tls, handler) as unknown as Server)
      : http.createServer(handler);
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    const scheme = this.options.tls ? 'https' : 'http';
    this.url = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** How requests with `key` are answered (everything but /v1/models). */
  behave(key: string, rule: BehaviourRule): this {
    this.rules.set(key, rule);
    return this;
  }

  /** How /v1/models answers `key`. */
  probe(key: string, behaviour: ProbeBehaviour): this {
    this.probes.set(key, behaviour);
    return this;
  }

  /** Daily figures to report (and enforce) for `key`: its account's, and its models' (replacing any set before). */
  quota(key: string, figures: FakeQuota): this {
    this.metering.setQuota(key, figures);
    return this;
  }

  /**
   * One model's daily counter for `key`, reported as ModelScope's `modelscope-ratelimit-model-requests-*` headers
   * and enforced: once it reaches 0, calls of that model with that key get 429 with the model counter at 0, while
   * other models (and other keys) keep working. The account's figures and other models' stay as they are.
   */
  modelQuota(key: string, model: string, counter: FakeCounter): this {
    this.metering.setModelQuota(key, model, counter);
    return this;
  }

  /** Calls of `model` left today for `key` (undefined when that model is not counted for it). */
  modelQuotaLeft(key: string, model: string): number | undefined {
    return this.metering.modelQuotaLeft(key, model);
  }

  /** Calls left today for `key`'s account (undefined when it is not counted). */
  quotaLeft(key: string): number | undefined {
    return this.metering.quotaLeft(key);
  }

  /** Meters `key` in points with a per-model cost (see FakePoints); its balance endpoint reports them. */
  points(key: string, points: FakePoints): this {
    this.metering.setPoints(key, points);
    return this;
  }

  /** What the balance endpoint answers for `key`, when it is not metered in points. */
  balance(key: string, figures: FakeBalance): this {
    this.metering.setBalance(key, figures);
    return this;
  }

  /** Points left for `key` (undefined when not metered in points). */
  pointsLeft(key: string): number | undefined {
    return this.metering.pointsLeft(key);
  }

  /** A new day: every quota and points balance is full again (the imitation has no clock of its own). */
  newDay(): this {
    this.metering.newDay();
    return this;
  }

  /** The imitation's balance endpoint, for `quota.balanceUrl`. */
  get balanceUrl(): string {
    return `${this.url}${this.options.basePath ?? ''}${BALANCE_PATH}`;
  }

  /** Requests that reached a path (default: chat completions; e.g. `/v1/messages`), optionally for one key. */
  count(key?: string, path = '/v1/chat/completions'): number {
    return this.received.filter((r) => r.url.split('?')[0] === path && (key === undefined || r.key === key)).length;
  }

  reset(): void {
    this.received.length = 0;
    this.rules.clear();
    this.probes.clear();
    this.metering.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.once('close', () => {
      if (!res.writableFinished) this.abandoned++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const base = this.options.basePath ?? '';
      let url = req.url ?? '/';
      if (base && url.startsWith(`${base}/`)) url = url.slice(base.length);
      else if (base) return json(res, 404, { errors: { message: `Not found: this imitation serves under ${base}.` } });
      const received: ReceivedRequest = {
        ...credential(req),
        method: req.method ?? 'GET',
        url,
        headers: req.headers,
        body,
        at: performance.now(),
      };
      this.received.push(received);
      this.route(received, req, res);
    });
  }

  private route(request: ReceivedRequest, req: IncomingMessage, res: ServerResponse): void {
    const path = request.url.split('?')[0];
    if (path === '/v1/models' && request.method === 'GET') return this.answerProbe(request.key, res);
    if (this.options.keys && !this.options.keys.includes(request.key ?? '')) {
      return json(res, 401, {
        error: { message: 'Invalid API token.', type: 'authentication_error', code: 'invalid_api_key' },
      });
    }
    if (path === BALANCE_PATH && request.method === 'GET') return this.answerBalance(request.key, res);
    const rule = this.rules.get(request.key ?? '') ?? 'ok';
    const behaviour = typeof rule === 'function' ? rule({ path, body: request.body }) : rule;
    if (behaviour !== 'ok') return misbehave(behaviour, request, req, res, this.metering.counters);
    const quotaHeaders = this.metering.spend(request.key ?? '', modelOf(request.body), res);
    if (quotaHeaders === null) return;
    if (path.startsWith('/v1/echo')) {
      return json(
        res,
        200,
        {
          method: request.method,
          url: request.url,
          headers: request.headers,
          body_base64: request.body.toString('base64'),
          body_length: request.body.length,
        },
        quotaHeaders,
      );
    }
    if (path === '/v1/images/generations' && req.headers['x-modelscope-async-mode'] === 'true') {
      const id = `task-${++this.taskCounter}`;
      this.tasks.set(id, request.key);
      return json(res, 200, { task_id: id, request_id: `req-${this.taskCounter}` }, quotaHeaders);
    }
    const task = /^\/v1\/tasks\/(.+)$/.exec(path);
    if (task) {
      if (!this.tasks.has(task[1]) || this.tasks.get(task[1]) !== request.key) {
        return json(res, 404, { errors: { message: 'Task not found.' } });
      }
      return json(res, 200, {
        task_id: task[1],
        task_status: 'SUCCEED',
        output_images: ['https://example.invalid/image.png'],
      });
    }
    const pacing = { chunks: this.options.streamChunks ?? 5, intervalMs: this.options.streamIntervalMs ?? 10 };
    if (request.method === 'POST' && path === MESSAGES_PATH)
      return answerMessages(res, request.body, quotaHeaders, pacing);
    if (request.method === 'POST' && path === COUNT_TOKENS_PATH)
      return answerCountTokens(res, request.body, quotaHeaders);
    answerChat(res, request.body, quotaHeaders, pacing);
  }

  private answerProbe(key: string | undefined, res: ServerResponse): void {
    const behaviour = this.probes.get(key ?? '') ?? 'ok';
    if (behaviour === 'hang') return;
    if (behaviour === 'fail') return json(res, 503, { error: { message: 'Service unavailable.' } });
    if (behaviour === 'unauthorized') return json(res, 401, { error: { message: 'Invalid API token.' } });
    const models = this.options.models ?? LISTED_MODELS;
    json(res, 200, {
      object: 'list',
      data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'modelscope' })),
    });
  }

  /** The balance of `key` in the reported shape (nested in `data`), or 404 when it has none. */
  private answerBalance(key: string | undefined, res: ServerResponse): void {
    const balance = this.metering.balanceOf(key ?? '');
    if (!balance) return json(res, 404, { errors: { message: 'No balance is kept for this token.' } });
    json(res, 200, {
      code: 200,
      success: true,
      data: {
        total_balance: balance.total,
        available_balance: balance.available,
        frozen_amount: balance.frozen ?? 0,
      },
    });
  }
}

/** Starts an imitation on 127.0.0.1 and resolves when it listens. */
export function startFakeModelScope(options: FakeModelScopeOptions = {}): Promise<FakeModelScope> {
  return new FakeModelScope(options).listen();
}
