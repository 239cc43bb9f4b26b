// Every default in one place: the resolver fills options from it, the
// standalone server's settings take their defaults from it, and a test checks
// the README's tables against it.

/** The strategies `strategy` accepts. */
export const STRATEGIES = ['round-robin', 'weighted', 'least-in-flight', 'most-remaining'] as const;

export const DEFAULTS = {
  keyFormat: 'modelscope',
  maxKeys: 100_000,
  target: 'https://api-inference.modelscope.cn',
  healthCheck: { path: '/v1/models', intervalMs: 30_000, timeoutMs: 10_000, concurrency: 4 },
  metrics: { path: '/metrics', prefix: 'modelscope_balance_' },
  retry: { attempts: 3, on: [429, 500, 502, 503, 504], timeouts: 'idempotent' },
  cooldown: { baseMs: 5_000, maxMs: 300_000 },
  failureThreshold: 3,
  invalidKeyRetryMs: 1_800_000,
  timeouts: { connectMs: 10_000, firstByteMs: 120_000, idleMs: 120_000, totalMs: 180_000 },
  maxBodyBytes: 10 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  queueTimeoutMs: 0,
  strategy: 'round-robin',
  quota: {
    resetTimeZone: 'Asia/Shanghai',
    resetTime: '00:00',
    assumeExhaustedAfter: 3,
    exhaustedTrialMs: 1_800_000,
    balanceIntervalMs: 600_000,
  },
  taskAffinity: { maxEntries: 10_000, ttlMs: 86_400_000 },
  forwardClientAddress: false,
  cors: { maxAgeSeconds: 600 },
  routes: { stats: true, health: true, metrics: true, status: true, admin: true },
} as const;
