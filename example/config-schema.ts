import convict from 'convict';
import { type ClientSpec, DEFAULTS, KEY_FORMATS, STRATEGIES } from '../lib/index.js';
import './setting-formats.js';

// Every setting of the standalone server. The first five are the original Go
// service's config.json, accepted as they are; the rest map to balancer
// options. Each comes from the config file, an environment variable or a
// command-line flag (`--server_port 9000`), the later winning.

const ms = (doc: string, env: string, value: number, format = 'positive-int') => ({
  doc,
  format,
  default: value,
  env,
  arg: env.toLowerCase(),
});

export const schema = {
  api_keys: {
    doc: 'ModelScope tokens.',
    format: 'string-list',
    default: [] as string[],
    env: 'MODELSCOPE_API_KEYS',
    sensitive: true,
  },
  api_keys_file: {
    doc: 'A file with one token per line (a mounted secret); added to api_keys.',
    format: String,
    default: '',
    env: 'MODELSCOPE_API_KEYS_FILE',
  },
  key_format: {
    doc: "What a key must look like: 'modelscope' (ms- and a UUID) or 'any' (16-256 of A-Z a-z 0-9 . _ -).",
    format: [...KEY_FORMATS],
    default: DEFAULTS.keyFormat as string,
    env: 'KEY_FORMAT',
  },
  max_keys: ms('Most keys the pool may hold.', 'MAX_KEYS', DEFAULTS.maxKeys),
  server_port: { doc: 'Port to listen on.', format: 'port-number', default: 8080, env: 'PORT' },
  host: { doc: 'Address to bind.', format: String, default: '0.0.0.0', env: 'HOST' },
  target_url: {
    doc: 'ModelScope base URL.',
    format: String,
    default: DEFAULTS.target,
    env: 'MODELSCOPE_TARGET_URL',
  },
  health_check: { doc: 'Probe each key periodically.', format: 'flag', default: true, env: 'HEALTH_CHECK' },
  health_path: {
    doc: 'Path probed with each key.',
    format: String,
    default: DEFAULTS.healthCheck.path,
    env: 'HEALTH_PATH',
  },
  health_interval_ms: ms('Time between probe rounds.', 'HEALTH_INTERVAL_MS', DEFAULTS.healthCheck.intervalMs),
  health_timeout_ms: ms('Probe timeout.', 'HEALTH_TIMEOUT_MS', DEFAULTS.healthCheck.timeoutMs),
  mount_path: { doc: 'Where the balancer is mounted.', format: String, default: '/', env: 'MOUNT_PATH' },
  log_level: {
    doc: 'pino log level.',
    format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    env: 'LOG_LEVEL',
  },
  shutdown_grace_ms: ms(
    'On SIGTERM/SIGINT, how long requests in flight may take to finish.',
    'SHUTDOWN_GRACE_MS',
    10_000,
    'non-negative-int',
  ),
  strategy: {
    doc: 'Key selection.',
    format: [...STRATEGIES],
    default: DEFAULTS.strategy,
    env: 'BALANCE_STRATEGY',
  },
  retry_attempts: ms('Tries per request in all.', 'RETRY_ATTEMPTS', DEFAULTS.retry.attempts),
  failure_threshold: ms(
    'Consecutive failures before a key is unhealthy.',
    'FAILURE_THRESHOLD',
    DEFAULTS.failureThreshold,
  ),
  cooldown_base_ms: ms('Cooldown after a 429 without Retry-After.', 'COOLDOWN_BASE_MS', DEFAULTS.cooldown.baseMs),
  cooldown_max_ms: ms('Longest cooldown.', 'COOLDOWN_MAX_MS', DEFAULTS.cooldown.maxMs),
  invalid_key_retry_ms: ms(
    'Wait before a refused key gets a trial request.',
    'INVALID_KEY_RETRY_MS',
    DEFAULTS.invalidKeyRetryMs,
  ),
  connect_timeout_ms: ms('Upstream connect timeout.', 'CONNECT_TIMEOUT_MS', DEFAULTS.timeouts.connectMs),
  first_byte_timeout_ms: ms(
    'Upstream time-to-first-byte timeout.',
    'FIRST_BYTE_TIMEOUT_MS',
    DEFAULTS.timeouts.firstByteMs,
  ),
  idle_timeout_ms: ms('Longest gap between stream chunks.', 'IDLE_TIMEOUT_MS', DEFAULTS.timeouts.idleMs),
  total_timeout_ms: ms(
    'Longest time until an answer begins, over all attempts.',
    'TOTAL_TIMEOUT_MS',
    DEFAULTS.timeouts.totalMs,
  ),
  retry_timeouts: {
    doc: 'Resend a POST after a timeout or reset: idempotent (GET/HEAD only) or always.',
    format: ['idempotent', 'always'],
    default: DEFAULTS.retry.timeouts,
    env: 'RETRY_TIMEOUTS',
  },
  max_body_bytes: ms('Largest request body.', 'MAX_BODY_BYTES', DEFAULTS.maxBodyBytes),
  max_buffered_bytes: ms(
    'Request body bytes held at once before new requests get 503.',
    'MAX_BUFFERED_BYTES',
    DEFAULTS.maxBufferedBytes,
  ),
  cors_origins: {
    doc: 'Browser origins allowed (CORS), or * for any; empty: off.',
    format: 'string-list',
    default: [] as string[],
    env: 'CORS_ORIGINS',
  },
  queue_timeout_ms: ms(
    'Wait for a cooling key before answering 429.',
    'QUEUE_TIMEOUT_MS',
    DEFAULTS.queueTimeoutMs,
    'non-negative-int',
  ),
  quota_reset_time_zone: {
    doc: 'Time zone of the daily quota reset.',
    format: String,
    default: DEFAULTS.quota.resetTimeZone,
    env: 'QUOTA_RESET_TIME_ZONE',
  },
  quota_reset_time: {
    doc: 'Local time of the daily quota reset, HH:MM.',
    format: String,
    default: DEFAULTS.quota.resetTime,
    env: 'QUOTA_RESET_TIME',
  },
  quota_assume_exhausted_after: ms(
    'Without quota counters: 429s in a row after which an account counts as used up until the reset.',
    'QUOTA_ASSUME_EXHAUSTED_AFTER',
    DEFAULTS.quota.assumeExhaustedAfter,
  ),
  quota_exhausted_trial_ms: ms(
    'One trial call per this period on an account used up without counters.',
    'QUOTA_EXHAUSTED_TRIAL_MS',
    DEFAULTS.quota.exhaustedTrialMs,
  ),
  quota_balance_url: {
    doc: 'Balance endpoint polled per key (e.g. https://modelscope.cn/openapi/v1/magicubes/balance); empty: off.',
    format: String,
    default: '',
    env: 'QUOTA_BALANCE_URL',
  },
  quota_balance_interval_ms: ms(
    'Time between rounds of balance probes.',
    'QUOTA_BALANCE_INTERVAL_MS',
    DEFAULTS.quota.balanceIntervalMs,
  ),
  model_routes: {
    doc: 'Model routes: a model name to the model ids that serve it, first choice first (JSON in the environment).',
    format: 'model-routes',
    default: {} as Record<string, string[]>,
    env: 'MODEL_ROUTES',
  },
  metrics: { doc: 'Serve Prometheus metrics.', format: 'flag', default: true, env: 'METRICS' },
  metrics_path: {
    doc: 'Path of the metrics route.',
    format: String,
    default: DEFAULTS.metrics.path,
    env: 'METRICS_PATH',
  },
  access_tokens: {
    doc: 'Client tokens; when set, every proxied request needs one.',
    format: 'string-list',
    default: [] as string[],
    env: 'BALANCE_ACCESS_TOKENS',
    sensitive: true,
  },
  admin_token: {
    doc: 'Token for /stats and /metrics.',
    format: String,
    default: '',
    env: 'BALANCE_ADMIN_TOKEN',
    sensitive: true,
  },
  forward_client_address: {
    doc: 'Send X-Forwarded-For upstream.',
    format: 'flag',
    default: DEFAULTS.forwardClientAddress,
    env: 'FORWARD_CLIENT_ADDRESS',
  },
  redis_url: {
    doc: 'Redis URL (redis:// or rediss://) to share key state between replicas; empty: none.',
    format: String,
    default: '',
    env: 'REDIS_URL',
    sensitive: true,
  },
  redis_prefix: { doc: 'Prefix of every Redis key and channel.', format: String, default: 'msb:', env: 'REDIS_PREFIX' },
  request_timeout_ms: ms('Longest time a client may take to send a whole request.', 'REQUEST_TIMEOUT_MS', 60_000),
  headers_timeout_ms: ms('Longest time a client may take to send its headers.', 'HEADERS_TIMEOUT_MS', 20_000),
  keep_alive_timeout_ms: ms(
    'How long an idle kept-alive client connection stays open: longer than the idle timeout of a proxy in front.',
    'KEEP_ALIVE_TIMEOUT_MS',
    65_000,
  ),
  clients_file: {
    doc: 'A JSON array of named clients (name, token, limits); read again on SIGHUP and when it changes.',
    format: String,
    default: '',
    env: 'BALANCE_CLIENTS_FILE',
  },
  state_file: {
    doc: "Where the clients' usage of the day is kept across a restart (written every 5 s); empty: nowhere.",
    format: String,
    default: 'modelscope-balance-state.json',
    env: 'STATE_FILE',
  },
  replica_id: {
    doc: "This replica's name on the balancer's own answers; empty: <hostname>:<pid>.",
    format: String,
    default: '',
    env: 'REPLICA_ID',
  },
};

// Every setting is read by convict from the command line under its own name (`--retry_attempts 5`); command-line.ts
// turns the other spellings (`--retry-attempts`, `--port`) into that one and refuses unknown flags.
for (const [name, item] of Object.entries(schema) as Array<[string, { arg?: string }]>) item.arg = name;

export type SettingName = keyof typeof schema;

/** The settings once loaded and checked. */
export interface Settings {
  api_keys: string[];
  api_keys_file: string;
  key_format: string;
  max_keys: number;
  server_port: number;
  host: string;
  target_url: string;
  health_check: boolean;
  health_path: string;
  health_interval_ms: number;
  health_timeout_ms: number;
  mount_path: string;
  log_level: string;
  shutdown_grace_ms: number;
  strategy: string;
  retry_attempts: number;
  failure_threshold: number;
  cooldown_base_ms: number;
  cooldown_max_ms: number;
  invalid_key_retry_ms: number;
  connect_timeout_ms: number;
  first_byte_timeout_ms: number;
  idle_timeout_ms: number;
  total_timeout_ms: number;
  retry_timeouts: string;
  max_body_bytes: number;
  max_buffered_bytes: number;
  cors_origins: string[];
  queue_timeout_ms: number;
  quota_reset_time_zone: string;
  quota_reset_time: string;
  quota_assume_exhausted_after: number;
  quota_exhausted_trial_ms: number;
  quota_balance_url: string;
  quota_balance_interval_ms: number;
  model_routes: Record<string, string[]>;
  metrics: boolean;
  metrics_path: string;
  access_tokens: string[];
  admin_token: string;
  forward_client_address: boolean;
  request_timeout_ms: number;
  headers_timeout_ms: number;
  keep_alive_timeout_ms: number;
  replica_id: string;
  redis_url: string;
  redis_prefix: string;
  clients_file: string;
  state_file: string;
  /** The clients read from `clients_file` (not a setting of its own). */
  clients?: ClientSpec[];
}

/** Convict over the schema; `args` must already be in convict's spelling (see `normalizeFlags`). */
export function createConfig(env: NodeJS.ProcessEnv, args: string[]) {
  return convict(schema as unknown as convict.Schema<Settings>, { env, args });
}
