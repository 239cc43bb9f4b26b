// Every upstream attempt goes through one http-proxy-middleware instance per
// balancer. HPM does not retry: failover is calling the same middleware again
// with the next key, the attempt travelling with the request in a WeakMap.
import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parse as parseUrl } from 'node:url';
import { createProxyMiddleware, type Options, proxyEventsPlugin, type RequestHandler } from 'http-proxy-middleware';
import { lendHeaders } from './header-lending.js';
import { UpstreamAttempt, type AttemptInput } from './upstream-attempt.js';

/** Makes the http-proxy-middleware handler: HPM's own, or (in tests) a spy around it. */
export type ProxyFactory = (options: Options) => RequestHandler;

export class UpstreamProxy {
  /** The attempt under way for each client request (attempts on one request never overlap). */
  private readonly current = new WeakMap<IncomingMessage, UpstreamAttempt>();
  /** Each attempt by its upstream request, for events that name only that. */
  private readonly byRequest = new WeakMap<ClientRequest, UpstreamAttempt>();
  /** The http-proxy-middleware handler all attempts go through. */
  readonly middleware: RequestHandler;

  constructor(target: URL, agent: Agent, createMiddleware: ProxyFactory = createProxyMiddleware) {
    this.middleware = createMiddleware({
      // Parsed once here: given a string, http-proxy would parse it again on every request.
      target: parseUrl(target.href),
      // The path is ours (set in proxyReq): http-proxy need not parse and join the client's.
      toProxy: true,
      ignorePath: true,
      agent,
      // Nothing reaches the client from HPM: the answer is chosen (and maybe discarded for failover) by us.
      selfHandleResponse: true,
      xfwd: false,
      followRedirects: false,
      // Only the event plugin: HPM's default error page and logger would answer the client behind our back.
      ejectPlugins: true,
      plugins: [proxyEventsPlugin],
      on: {
        // Emitted just before http-proxy copies the client's headers for the upstream request: it copies the
        // attempt's instead (see header-lending.ts).
        start: (req) => {
          const attempt = this.current.get(req);
          if (attempt) lendHeaders(req, attempt.input.headers);
        },
        proxyReq: (proxyReq, req) => {
          const attempt = this.current.get(req);
          if (!attempt) return void proxyReq.destroy();
          this.byRequest.set(proxyReq, attempt);
          try {
            attempt.bind(proxyReq, proxyReq.socket as Socket);
          } catch (error) {
            // Runs inside http-proxy's socket listener, where a throw would take the process down.
            attempt.fail(error as NodeJS.ErrnoException);
          }
        },
        proxyRes: (proxyRes) =>
          this.byRequest.get((proxyRes as IncomingMessage & { req: ClientRequest }).req)?.respond(proxyRes),
        // An error names only the client request, and an earlier attempt's late error would land on the
        // current one: once bound, an attempt hears its own upstream request's errors (see bind()).
        error: (error, req) => this.unbound(req as IncomingMessage)?.fail(error as NodeJS.ErrnoException),
        // http-proxy's name for a reset while the client's own socket is gone.
        econnreset: (error, req) => this.unbound(req)?.fail(error as NodeJS.ErrnoException),
      },
    });
  }

  /** The current attempt of `req` when it has no upstream request of its own yet. */
  private unbound(req: IncomingMessage): UpstreamAttempt | undefined {
    const attempt = this.current.get(req);
    return attempt && !attempt.request ? attempt : undefined;
  }

  /**
   * Starts one attempt for the client request. The attempt's headers never
   * hold `Expect` (http-proxy would skip `proxyReq` for such a request, and
   * with it our path and body): see `upstreamHeaders`.
   */
  send(req: IncomingMessage, res: ServerResponse, input: AttemptInput): UpstreamAttempt {
    const attempt = new UpstreamAttempt(input);
    this.current.set(req, attempt);
    try {
      void this.middleware(req, res, (error?: unknown) =>
        attempt.fail((error ?? new Error('not proxied')) as NodeJS.ErrnoException),
      ).catch((error: unknown) => attempt.fail(error as NodeJS.ErrnoException));
    } catch (error) {
      // A header value Node refuses, say: a failed attempt, never a leak of in-flight counts.
      attempt.fail(error as NodeJS.ErrnoException);
    }
    return attempt;
  }
}
