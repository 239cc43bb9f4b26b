import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { closestName } from '../lib/index.js';
import type { BalanceOptions, Strategy } from '../lib/index.js';
import { FlagError, normalizeFlags } from './command-line.js';
import { createConfig, schema, type SettingName, type Settings } from './config-schema.js';

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

/**
 * A path as it may be shown in an error. A token pasted where a path belongs
 * (`MODELSCOPE_API_KEYS_FILE=ms-…`) must not be printed back in full.
 */
function shownPath(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? '';
  return /^(?=.*\d)[\w-]{20,}$/.test(name)
    ? 'the path given (not shown: it looks like a token, not a file name)'
    : path;
}

function readKeysFile(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  } catch (error) {
    throw new SettingsError(
      'api_keys_file',
      `cannot read ${shownPath(path)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'Point MODELSCOPE_API_KEYS_FILE at a readable file with one token per line (the file name, not a token).',
    );
  }
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
        `${shownPath(path)} is not valid JSON${position ? ` (at character ${position})` : ''}`,
        'Fix the file or point --config at another.',
      );
    }
    config.load(parsed as Partial<Settings>);
  } else if (explicitPath) {
    throw new SettingsError(
      'config',
      `no file at ${shownPath(path)}`,
      'Check --config or MODELSCOPE_BALANCE_CONFIG (a file name, not a token).',
    );
  }
  try {
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw explain(error as Error);
  }
  const settings = config.getProperties();
  const keys = [...settings.api_keys, ...(settings.api_keys_file ? readKeysFile(settings.api_keys_file) : [])];
  if (keys.some((key) => PLACEHOLDER.test(key))) {
    throw new SettingsError(
      'api_keys',
      'still holds the sample placeholders (your_api_key_1_here …)',
      'Put your ModelScope tokens in MODELSCOPE_API_KEYS (comma-separated) or a keys file, not in a committed ' +
        'config.json.',
    );
  }
  if (keys.length === 0) {
    throw new SettingsError(
      'api_keys',
      'no ModelScope token was given',
      'Set MODELSCOPE_API_KEYS=ms-…,ms-… or "api_keys" in config.json, or name a keys file in ' +
        'MODELSCOPE_API_KEYS_FILE.',
    );
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
  return { ...settings, api_keys: [...new Set(keys)] };
}

/** The balancer options a set of settings stands for. */
export function balancerOptions(settings: Settings): Omit<BalanceOptions, 'logger'> {
  return {
    keys: settings.api_keys,
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
    accessTokens: settings.access_tokens,
    ...(settings.admin_token ? { adminToken: settings.admin_token } : {}),
    forwardClientAddress: settings.forward_client_address,
    ...(settings.replica_id ? { replicaId: settings.replica_id } : {}),
  };
}

export type { SettingName };
