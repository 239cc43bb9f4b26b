// The rules of a named client, checked once when it is given (never on a request's path): a name of 1–64 characters
// `A-Z a-z 0-9 . _ -`, a token of 16–512 visible ASCII characters that is nobody else's, whole positive limits, a list
// of distinct models. The token leaves here only as its SHA-256 digest.
import { closestName } from '../options/errors.js';
import { ClientChangeError } from './client-change-error.js';
import { CLIENT_FIELDS, LIMIT_FIELDS } from './client-spec.js';
import { tokenDigest } from './token-digest.js';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const TOKEN = /^[\x21-\x7e]{16,512}$/;
/** The figures of unnamed access tokens go by this name: no client may take it. */
export const ANONYMOUS = 'anonymous';
/** Largest value of any limit: more is no limit, and arithmetic on it stays exact. */
const MAX_LIMIT = 1_000_000_000;
const MAX_MODELS = 1000;
const MAX_MODEL_LENGTH = 256;

/** A client's limits once checked: absent ones are no limit. */
export interface CheckedLimits {
  readonly dailyRequests?: number;
  readonly requestsPerMinute?: number;
  readonly maxInFlight?: number;
  readonly models?: ReadonlySet<string>;
}

/** A client once checked: its name, its token's digest (never the token) and its limits. */
export interface CheckedClient {
  readonly name: string;
  readonly digest: Buffer;
  readonly limits: CheckedLimits;
}

/** What a token must not be, besides another client's: names what it collides with, or undefined. */
export type ReservedToken = (token: string) => string | undefined;

function invalid(field: string, problem: string): never {
  throw new ClientChangeError('ERR_MSB_CLIENT_INVALID', field, problem);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? `a string of ${value.length} characters` : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses a field not in `known`, with the closest known one as a hint. */
function rejectUnknownFields(value: Record<string, unknown>, known: readonly string[]): void {
  for (const field of Object.keys(value)) {
    if (known.includes(field)) continue;
    const guess = closestName(field, known);
    invalid(field, `is not a client field.${guess ? ` Did you mean \`${guess}\`?` : ''} Fields: ${known.join(', ')}.`);
  }
}

export function checkName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !NAME.test(value))
    invalid(field, `must be 1–64 characters of A-Z a-z 0-9 . _ - (such as 'research'), got ${describe(value)}.`);
  if (value === ANONYMOUS)
    invalid(field, `'${ANONYMOUS}' is the name of the unnamed access tokens' figures: choose another name.`);
  return value;
}

function checkToken(value: unknown, reserved: ReservedToken): Buffer {
  if (value === undefined)
    invalid(
      'token',
      'is missing (is the environment variable it is read from set?): every client needs its own token.',
    );
  if (typeof value !== 'string' || !TOKEN.test(value))
    invalid(
      'token',
      `must be 16–512 visible ASCII characters without spaces (make one with \`openssl rand -hex 24\`), got ` +
        `${describe(value)}.`,
    );
  const taken = reserved(value);
  if (taken)
    throw new ClientChangeError(
      'ERR_MSB_CLIENT_TOKEN_TAKEN',
      'token',
      `is ${taken}: give the client a token of its own.`,
    );
  return tokenDigest(value);
}

function checkLimit(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIMIT)
    invalid(
      field,
      `must be a whole number from 1 to ${MAX_LIMIT} (leave it out for no limit), got ${describe(value)}.`,
    );
  return value;
}

function checkModels(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MODELS)
    invalid(
      'models',
      `must be a list of 1 to ${MAX_MODELS} model names (leave it out to allow every model), got ${describe(value)}.`,
    );
  const models = new Set<string>();
  value.forEach((model, index) => {
    if (typeof model !== 'string' || model.trim() === '' || model.length > MAX_MODEL_LENGTH)
      invalid(`models[${index}]`, `must be a model name such as 'Qwen/Qwen3-Coder-480B-A35B-Instruct'.`);
    if (models.has(model)) invalid(`models[${index}]`, `repeats ${JSON.stringify(model)}: list each model once.`);
    models.add(model);
  });
  return models;
}

/** The limits in `value` (null or absent: no limit), for a new client or a change of one (PATCH). */
export function checkLimits(value: unknown): CheckedLimits {
  if (!isRecord(value)) invalid('', `must be an object with ${LIMIT_FIELDS.join(', ')}, got ${describe(value)}.`);
  rejectUnknownFields(value, LIMIT_FIELDS);
  return withoutUndefined({
    dailyRequests: checkLimit('dailyRequests', value.dailyRequests),
    requestsPerMinute: checkLimit('requestsPerMinute', value.requestsPerMinute),
    maxInFlight: checkLimit('maxInFlight', value.maxInFlight),
    models: checkModels(value.models),
  });
}

/** `current` with the limits named in `change` replaced (null removes one); the others kept. */
export function changedLimits(current: CheckedLimits, change: unknown): CheckedLimits {
  const given = checkLimits(change);
  const next: Record<string, unknown> = { ...current };
  for (const field of LIMIT_FIELDS) {
    if (!Object.hasOwn(change as object, field)) continue;
    next[field] = given[field];
  }
  return withoutUndefined(next as CheckedLimits);
}

/** One client, checked whole: a ClientChangeError names the first field that is wrong. */
export function checkClient(value: unknown, reserved: ReservedToken): CheckedClient {
  if (!isRecord(value))
    invalid(
      '',
      `must be an object such as { name: 'research', token: '…', dailyRequests: 300 }, got ${describe(value)}.`,
    );
  rejectUnknownFields(value, CLIENT_FIELDS);
  const name = checkName(value.name);
  const digest = checkToken(value.token, reserved);
  const { name: _name, token: _token, ...limits } = value;
  return { name, digest, limits: checkLimits(limits) };
}

/** A list of clients (the `clients` option, the clients file): each checked, names and tokens distinct. */
export function checkClients(value: unknown, reserved: ReservedToken, prefix = 'clients'): CheckedClient[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    invalid(prefix, `must be a list of clients such as [{ name: 'research', token: '…' }], got ${describe(value)}.`);
  const names = new Set<string>();
  const digests = new Set<string>();
  return value.map((item, index) => {
    let client: CheckedClient;
    try {
      client = checkClient(item, reserved);
    } catch (error) {
      throw error instanceof ClientChangeError ? error.within(`${prefix}[${index}]`) : error;
    }
    if (names.has(client.name))
      throw new ClientChangeError(
        'ERR_MSB_CLIENT_EXISTS',
        `${prefix}[${index}].name`,
        `repeats '${client.name}': client names are unique.`,
      );
    const digest = client.digest.toString('base64');
    if (digests.has(digest))
      throw new ClientChangeError(
        'ERR_MSB_CLIENT_TOKEN_TAKEN',
        `${prefix}[${index}].token`,
        'is the token of an earlier client in the list: each client needs its own token.',
      );
    names.add(client.name);
    digests.add(digest);
    return client;
  });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
