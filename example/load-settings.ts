import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { closestName } from '../lib/options/errors.js';
import { keyFormatProblem } from '../lib/options/key-format.js';
import type { BalanceOptions, KeyFormat, Strategy } from '../lib/index.js';
import { ClientsFileError } from '../lib/clients/clients-file.js';
import type { ClientSpec } from '../lib/index.js';
import { readClients } from './clients-file.js';
import { FlagError, normalizeFlags } from './command-line.js';
import { createConfig, schema, type SettingName, type Settings } from './config-schema.js';
import { modelRoutesProblem } from './model-routes-setting.js';

/** A setting that stops start-up; its message is the one line the operator sees. */
export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
    fix: string,
  ) {
    super(`${setting}: ${problem}. ${fix}`);
    this.name = 'SettingsError';
  }
}

const PLACEHOLDER = /^your_api_key_\d+_here$/i;

function howToSet(name: string): string {
  const item = (schema as Record<string, { env?: string }>)[name];
  return item?.env
    ? `Set "${name}" in the config file, the environment variable ${item.env}, or --${name.replace(/_/g, '-')}.`
    : `Fix "${name}" in the config file.`;
}

/** Keys given in the environment: a path that holds a piece of one is not shown. */
function envSecrets(env: NodeJS.ProcessEnv): string[] {
  return (env.MODELSCOPE_API_KEYS ?? '').split(',').map((key) => key.trim());
}

function flagValue(args: string[], flag: string): string | undefined {
  const index = args.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (index === -1) return undefined;
  return args[index].includes('=') ? args[index].slice(flag.length + 1) : args[index + 1];
}

/** Turns convict's first complaint into one actionable line. */
function explain(error: Error): SettingsError {
  const first = error.message.split('\n')[0];
  const undeclared = /configuration param '([^']+)' not declared/.exec(first);
  if (undeclared) {
    const guess = closestName(undeclared[1], Object.keys(schema));
    return new SettingsError(
      undeclared[1],
      'is not a known setting',
      guess ? `Did you mean "${guess}"?` : 'Remove it; the README lists every setting.',
    );
  }
  const named = /^([\w.]+): (.*)$/.exec(first);
  if (named) return new SettingsError(named[1], named[2].replace(/: value was .*/, ''), howToSet(named[1]));
  return new SettingsError('config', first, 'Check the config file and environment.');
}

/** A UUID (the heart of a ModelScope token) anywhere, or a run of 20 word characters with a digit in it. */
const TOKEN_LIKE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[\w-]*\d)[\w-]{20,}/i;

/**
 * A path as it may be shown in an error. A token pasted where a path belongs
 * (`MODELSCOPE_API_KEYS_FILE=ms-…`), or a file named after one
 * (`/x/<token>.json`, `/x/.<token>`), must not be printed back: any part of
 * the path that looks like a token, or holds 12 characters of a key given
 * elsewhere, hides the whole path.
 */
function shownPath(path: string, secrets: readonly string[] = []): string {
  const hidden = 'the path given (not shown: it looks like a token, not a file name)';
  if (TOKEN_LIKE.test(path)) return hidden;
  for (const secret of secrets) {
    for (let i = 0; i + 12 <= secret.length; i++) if (path.includes(secret.slice(i, i + 12))) return hidden;
  }
  return path;
}

/** What a keys file holds: its keys, each checked by the key rule, or a SettingsError naming the first bad line. */
function readKeysFile(path: string, format: KeyFormat, secrets: readonly string[]): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SettingsError(
      'api_keys_file',
      `cannot read ${shownPath(path, secrets)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'Point MODELSCOPE_API_KEYS_FILE at a readable file with one token per line (the file name, not a token).',
    );
  }
  const keys: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '' || line.startsWith('#')) continue;
    // The whole file or nothing: a file caught mid-write, or something else mounted in its place, must not become
    // the pool. The line is named by number, never shown.
    const problem = keyFormatProblem(line, format);
    if (problem) {
      throw new SettingsError(
        'api_keys_file',
        `line ${index + 1} ${problem.replace(/\.$/, '')}`,
        'Each line of the keys file must be one token (blank lines and # comments aside); the file was not used.',
      );
    }
    keys.push(line);
  }
  return keys;
}

/**
 * Loads the settings: defaults, then the config file (`--config`,
 * MODELSCOPE_BALANCE_CONFIG, or ./config.json when present), then the
 * environment, then the command line. Throws a SettingsError on the first problem.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, given: string[] = process.argv.slice(2)): Settings {
  let args: string[];
  try {
    args = normalizeFlags(given);
  } catch (error) {
    if (error instanceof FlagError)
      throw new SettingsError('command line', error.message, 'The README lists every setting.');
    throw error;
  }
  const config = createConfig(env, args);
  const explicitPath = flagValue(args, '--config') ?? env.MODELSCOPE_BALANCE_CONFIG;
  const path = resolve(explicitPath ?? 'config.json');
  if (existsSync(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      // JSON.parse quotes the text around the mistake, which may be a token: only its position is shown.
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      throw new SettingsError(
        'config',
        `${shownPath(path, envSecrets(env))} is not valid JSON${position ? ` (at character ${position})` : ''}`,
        'Fix the file or point --config at another.',
      );
    }
    config.load(parsed as Partial<Settings>);
  } else if (explicitPath) {
    throw new SettingsError(
      'config',
      `no file at ${shownPath(path, envSecrets(env))}`,
      'Check --config or MODELSCOPE_BALANCE_CONFIG (a file name, not a token).',
    );
  }
  try {
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw explain(error as Error);
  }
  const settings = config.getProperties();
  if (settings.api_keys.some((key) => PLACEHOLDER.test(key))) {
    throw new SettingsError(
      'api_keys',
      'still holds the sample placeholders (your_api_key_1_here …)',
      'Put your ModelScope tokens in MODELSCOPE_API_KEYS (comma-separated) or a keys file, not in a committed ' +
        'config.json.',
    );
  }
  const format = settings.key_format as KeyFormat;
  settings.api_keys.forEach((key, index) => {
    const problem = keyFormatProblem(key, format);
    if (problem) {
      throw new SettingsError(
        'api_keys',
        `entry ${index + 1} ${problem.replace(/\.$/, '')}`,
        'Fix that entry of MODELSCOPE_API_KEYS (comma-separated) or "api_keys" in the config file.',
      );
    }
  });
  const keys = [
    ...settings.api_keys,
    ...(settings.api_keys_file ? readKeysFile(settings.api_keys_file, format, settings.api_keys) : []),
  ];
  if (keys.length === 0) {
    throw new SettingsError(
      'api_keys',
      'no ModelScope token was given',
      'Set MODELSCOPE_API_KEYS=ms-…,ms-… or "api_keys" in config.json, or name a keys file in ' +
        'MODELSCOPE_API_KEYS_FILE.',
    );
  }
  const unique = [...new Set(keys)];
  if (unique.length > settings.max_keys) {
    throw new SettingsError(
      'max_keys',
      `is ${settings.max_keys}, and ${unique.length} keys were given`,
      'Raise max_keys (MAX_KEYS) if the pool really is this large, or check the keys file.',
    );
  }
  const routesProblem = modelRoutesProblem(settings.model_routes, unique);
  if (routesProblem) {
    throw new SettingsError('model_routes', routesProblem, 'Fix that route in the config file or MODEL_ROUTES (JSON).');
  }
  if (settings.headers_timeout_ms > settings.request_timeout_ms) {
    throw new SettingsError(
      'headers_timeout_ms',
      `(${settings.headers_timeout_ms}) is longer than request_timeout_ms (${settings.request_timeout_ms})`,
      'Make it shorter: the headers are part of the request.',
    );
  }
  if (!settings.mount_path.startsWith('/'))
    throw new SettingsError('mount_path', 'must start with "/"', howToSet('mount_path'));
  return { ...settings, api_keys: unique, ...(settings.clients_file ? { clients: clientsOf(settings) } : {}) };
}

/** The clients of `clients_file`, or a SettingsError naming the line and the field (never quoting the file). */
function clientsOf(settings: Settings): ClientSpec[] {
  try {
    return readClients(settings.clients_file);
  } catch (error) {
    if (!(error instanceof ClientsFileError)) throw error;
    throw new SettingsError('clients_file', error.message.replace(/\.$/, ''), 'Fix the file (nothing was used).');
  }
}

/** The balancer options a set of settings stands for. */
export function balancerOptions(settings: Settings): Omit<BalanceOptions, 'logger'> {
  return {
    keys: settings.api_keys,
    keyFormat: settings.key_format as KeyFormat,
    maxKeys: settings.max_keys,
    target: settings.target_url,
    healthCheck: settings.health_check
      ? { path: settings.health_path, intervalMs: settings.health_interval_ms, timeoutMs: settings.health_timeout_ms }
      : false,
    metrics: settings.metrics ? { path: settings.metrics_path } : false,
    strategy: settings.strategy as Strategy,
    retry: { attempts: settings.retry_attempts, timeouts: settings.retry_timeouts as 'idempotent' | 'always' },
    failureThreshold: settings.failure_threshold,
    cooldown: { baseMs: settings.cooldown_base_ms, maxMs: settings.cooldown_max_ms },
    invalidKeyRetryMs: settings.invalid_key_retry_ms,
    timeouts: {
      connectMs: settings.connect_timeout_ms,
      firstByteMs: settings.first_byte_timeout_ms,
      idleMs: settings.idle_timeout_ms,
      totalMs: settings.total_timeout_ms,
    },
    maxBodyBytes: settings.max_body_bytes,
    maxBufferedBytes: settings.max_buffered_bytes,
    cors:
      settings.cors_origins.length > 0
        ? { origins: settings.cors_origins.includes('*') ? '*' : settings.cors_origins }
        : false,
    queueTimeoutMs: settings.queue_timeout_ms,
    quota: {
      resetTimeZone: settings.quota_reset_time_zone,
      resetTime: settings.quota_reset_time,
      assumeExhaustedAfter: settings.quota_assume_exhausted_after,
      exhaustedTrialMs: settings.quota_exhausted_trial_ms,
      balanceIntervalMs: settings.quota_balance_interval_ms,
      ...(settings.quota_balance_url ? { balanceUrl: settings.quota_balance_url } : {}),
    },
    ...(Object.keys(settings.model_routes).length > 0 ? { modelRoutes: settings.model_routes } : {}),
    accessTokens: settings.access_tokens,
    ...(settings.admin_token ? { adminToken: settings.admin_token } : {}),
    forwardClientAddress: settings.forward_client_address,
    ...(settings.replica_id ? { replicaId: settings.replica_id } : {}),
    ...(settings.clients ? { clients: settings.clients } : {}),
    ...(settings.state_file ? { stateFile: settings.state_file } : {}),
  };
}

export type { SettingName };
