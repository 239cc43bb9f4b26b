import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { BehaviourRule, FakeQuota, ProbeBehaviour } from './behaviours.js';
import { json, misbehave, streamAnswer } from './misbehaviour.js';

/** What the imitation received, for assertions. `key` is the bearer token it saw. */
export interface ReceivedRequest {
  key: string | undefined;
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
  /** Chunks in an SSE answer. Defaults to 5. */
  streamChunks?: number;
  /** Milliseconds between SSE chunks. Defaults to 10. */
  streamIntervalMs?: number;
  /** Port on 127.0.0.1. Defaults to 0 (any free port). */
  port?: number;
  /** A base path the imitation serves under (as behind a gateway at `/gw`). Defaults to none. */
  basePath?: string;
  /** Serve HTTPS with this key and certificate (PEM), as ModelScope is served. Defaults to plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/**
 * An imitation of ModelScope API-Inference on loopback: chat completions
 * (JSON and SSE), /v1/models, async image tasks, quota headers, and failures
 * chosen per key. The tests use it, and so can yours
 * (`import { startFakeModelScope } from 'modelscope-balance/testing'`).
 */
export class FakeModelScope {
  readonly received: ReceivedRequest[] = [];
  private readonly rules = new Map<string, BehaviourRule>();
  private readonly probes = new Map<string, ProbeBehaviour>();
  private readonly quotas = new Map<string, FakeQuota>();
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

  /** Daily figures to report (and enforce) for `key`. */
  quota(key: string, figures: FakeQuota): this {
    this.quotas.set(key, structuredClone(figures));
    return this;
  }

  /** Requests that reached a path (default: chat completions), optionally for one key. */
  count(key?: string, path = '/v1/chat/completions'): number {
    return this.received.filter((r) => r.url.split('?')[0] === path && (key === undefined || r.key === key)).length;
  }

  reset(): void {
    this.received.length = 0;
    this.rules.clear();
    this.probes.clear();
    this.quotas.clear();
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
      const key = bearer(req);
      const body = Buffer.concat(chunks);
      const base = this.options.basePath ?? '';
      let url = req.url ?? '/';
      if (base && url.startsWith(`${base}/`)) url = url.slice(base.length);
      else if (base) return json(res, 404, { errors: { message: `Not found: this imitation serves under ${base}.` } });
      const received: ReceivedRequest = {
        key,
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
    const rule = this.rules.get(request.key ?? '') ?? 'ok';
    const behaviour = typeof rule === 'function' ? rule({ path, body: request.body }) : rule;
    if (behaviour !== 'ok') return misbehave(behaviour, request, req, res);
    const quotaHeaders = this.spendQuota(request, res);
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
    return this.complete(request, res, quotaHeaders);
  }

  private answerProbe(key: string | undefined, res: ServerResponse): void {
    const behaviour = this.probes.get(key ?? '') ?? 'ok';
    if (behaviour === 'hang') return;
    if (behaviour === 'fail') return json(res, 503, { error: { message: 'Service unavailable.' } });
    if (behaviour === 'unauthorized') return json(res, 401, { error: { message: 'Invalid API token.' } });
    json(res, 200, {
      object: 'list',
      data: [{ id: 'Qwen/Qwen2.5-7B-Instruct', object: 'model', owned_by: 'modelscope' }],
    });
  }

  /** Enforces and reports the key's daily figures; null when it answered 429 itself. */
  private spendQuota(request: ReceivedRequest, res: ServerResponse): Record<string, string> | null {
    const quota = this.quotas.get(request.key ?? '');
    if (!quota) return {};
    const model = parseModel(request.body);
    const modelQuota = model ? quota.models?.[model] : undefined;
    const headers = (): Record<string, string> => ({
      'modelscope-ratelimit-requests-limit': String(quota.limit),
      'modelscope-ratelimit-requests-remaining': String(quota.remaining),
      ...(modelQuota
        ? {
            'modelscope-ratelimit-model-requests-limit': String(modelQuota.limit),
            'modelscope-ratelimit-model-requests-remaining': String(modelQuota.remaining),
          }
        : {}),
    });
    if (quota.remaining <= 0 || (modelQuota && modelQuota.remaining <= 0)) {
      json(res, 429, { errors: { message: 'Request limit exceeded.', request_id: 'fake-request' } }, headers());
      return null;
    }
    quota.remaining--;
    if (modelQuota) modelQuota.remaining--;
    return headers();
  }

  private complete(request: ReceivedRequest, res: ServerResponse, headers: Record<string, string>): void {
    let parsed: { stream?: boolean; model?: string } = {};
    try {
      parsed = JSON.parse(request.body.toString('utf8') || '{}');
    } catch {
      return json(res, 400, { error: { message: 'Body is not JSON.' } });
    }
    const model = parsed.model ?? 'Qwen/Qwen2.5-7B-Instruct';
    if (!parsed.stream) {
      return json(
        res,
        200,
        {
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'Hello from the imitation.' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
        },
        headers,
      );
    }
    streamAnswer(res, model, headers, this.options.streamChunks ?? 5, this.options.streamIntervalMs ?? 10);
  }
}

function parseModel(body: Buffer): string | undefined {
  try {
    const model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

/** Starts an imitation on 127.0.0.1 and resolves when it listens. */
export function startFakeModelScope(options: FakeModelScopeOptions = {}): Promise<FakeModelScope> {
  return new FakeModelScope(options).listen();
}
