#!/usr/bin/env node
import { startFakeModelScope } from '../lib/testing/index.js';
import { createConfig } from './config-schema.js';
import { createLogger } from './logger.js';
import { startServer } from './create-server.js';

/**
 * `npm run demo`: no token, no network. Starts the ModelScope imitation on
 * loopback with three demo keys (the third fails its health checks), puts the
 * balancer in front of it, and prints commands to try.
 */
const DEMO_KEYS = [
  'ms-dede0001-aaaa-4bbb-8ccc-000000000001',
  'ms-dede0002-aaaa-4bbb-8ccc-000000000002',
  'ms-dede0003-aaaa-4bbb-8ccc-000000000003',
];

/** The model people run Claude Code on at ModelScope. */
const CODER = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';

async function demo(): Promise<void> {
  const fake = await startFakeModelScope({ streamChunks: 8, streamIntervalMs: 150 });
  fake.probe(DEMO_KEYS[2], 'fail');
  const config = createConfig({}, []);
  config.load({
    api_keys: DEMO_KEYS,
    target_url: fake.url,
    host: '127.0.0.1',
    server_port: Number(process.env.PORT ?? 8080),
    health_interval_ms: 10_000,
    log_level: process.env.LOG_LEVEL ?? 'warn',
  });
  const settings = config.getProperties();
  const logger = createLogger(settings.log_level, DEMO_KEYS);
  const running = await startServer(settings, logger);
  const base = `http://127.0.0.1:${running.port}`;
  process.stdout.write(`
modelscope-balance demo: the balancer at ${base}, in front of an imitation of ModelScope at ${fake.url}.
Three demo keys; the third fails its health checks, so requests go to the other two.

  # a chat completion (run it a few times: /stats shows the keys taking turns)
  curl -s ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"hi"}]}'

  # a streamed answer, chunk by chunk
  curl -N ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"Qwen/Qwen2.5-7B-Instruct","stream":true,"messages":[{"role":"user","content":"hi"}]}'

  # Claude Code on the imitation's Anthropic Messages API (any token: the demo sets no access tokens)
  ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=demo ANTHROPIC_MODEL=${CODER} claude

  # the Messages API by hand
  curl -s ${base}/v1/messages -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \\
    -d '{"model":"${CODER}","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}'

  curl -s ${base}/stats      # per-key state, masked labels
  curl -s ${base}/health     # 2 of 3 keys healthy
  curl -s ${base}/metrics    # Prometheus metrics

  open ${base}/status          # the status page, in a browser

Ctrl-C stops it.
`);
  const stop = () =>
    void running
      .shutdown()
      .then(() => fake.close())
      .then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void demo();
