// The `clients` option, checked at construction like every option: a refusal is a BalanceConfigError naming
// `clients[i].field` with the fix, and never quotes a token.
import { BalanceConfigError } from '../options/errors.js';
import { namesHoldingPieces } from '../options/key-label.js';
import { type CheckedClient, checkClients } from './check-client.js';
import { ClientChangeError } from './client-change-error.js';

export interface ReservedTokens {
  /** The pool's keys: no client token may be one. */
  keys: readonly string[];
  accessTokens: readonly string[];
  adminToken: string | undefined;
}

/** What a client token must not be at construction, as the end of "the token is …". */
export function reservedAtStart({
  keys,
  accessTokens,
  adminToken,
}: ReservedTokens): (token: string) => string | undefined {
  const poolKeys = new Set(keys);
  const access = new Set(accessTokens);
  return (token) => {
    if (token === adminToken) return 'the admin token';
    if (access.has(token)) return 'one of the access tokens';
    return poolKeys.has(token) ? 'one of the pool keys' : undefined;
  };
}

/** The checked clients, or undefined when the option was left out (a balancer without named clients). */
export function resolveClients(value: unknown, reserved: ReservedTokens): CheckedClient[] | undefined {
  if (value === undefined) return undefined;
  try {
    const clients = checkClients(value, reservedAtStart(reserved));
    const [index] = namesHoldingPieces(
      clients.map((client) => client.name),
      reserved.keys,
    );
    if (index !== undefined)
      throw new ClientChangeError(
        'ERR_MSB_CLIENT_INVALID',
        `clients[${index}].name`,
        'holds part of a pool key: a name is shown in metrics and logs; choose another.',
      );
    return clients;
  } catch (error) {
    if (!(error instanceof ClientChangeError)) throw error;
    const code = /is not a client field/.test(error.problem) ? 'ERR_MSB_UNKNOWN_OPTION' : 'ERR_MSB_INVALID_OPTION';
    throw new BalanceConfigError(code, error.field, error.problem);
  }
}
