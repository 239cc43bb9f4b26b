// A refused change of the named clients (at construction through the `clients` option, from the clients file,
// addClient/updateClient/removeClient and the admin API). Nothing changed. Like every message of the balancer, it
// never quotes a token, nor a name that broke the rules (it may be a token pasted in the wrong field).

/** The `code` of every ClientChangeError. */
export const CLIENT_CHANGE_ERROR_CODES = [
  'ERR_MSB_CLIENT_INVALID',
  'ERR_MSB_CLIENT_EXISTS',
  'ERR_MSB_CLIENT_NOT_FOUND',
  'ERR_MSB_CLIENT_TOKEN_TAKEN',
  'ERR_MSB_CLIENTS_OFF',
] as const;

export type ClientChangeErrorCode = (typeof CLIENT_CHANGE_ERROR_CODES)[number];

/** A client change that was refused; nothing changed. */
export class ClientChangeError extends Error {
  /**
   * `ERR_MSB_CLIENT_INVALID`: a name, token, limit or model list that breaks the rules, or an unknown field;
   * `ERR_MSB_CLIENT_EXISTS`: another client has the name; `ERR_MSB_CLIENT_NOT_FOUND`: no client has the name;
   * `ERR_MSB_CLIENT_TOKEN_TAKEN`: the token is another client's, a pool key, an access token or the admin token;
   * `ERR_MSB_CLIENTS_OFF`: clients added to an open balancer (started without `clients` or `accessTokens`).
   */
  readonly code: ClientChangeErrorCode;
  /** What was wrong: `name`, `token`, `dailyRequests` … or in a list `clients[3].token`. */
  readonly field: string;
  /** The problem alone, without the field: how to fix it. */
  readonly problem: string;

  constructor(code: ClientChangeErrorCode, field: string, problem: string) {
    super(`modelscope-balance: \`${field}\` ${problem}`);
    this.name = 'ClientChangeError';
    this.code = code;
    this.field = field;
    this.problem = problem;
  }

  /** The same refusal about `prefix` + this field (`clients[3]` + `token` → `clients[3].token`). */
  within(prefix: string): ClientChangeError {
    return new ClientChangeError(this.code, this.field ? `${prefix}.${this.field}` : prefix, this.problem);
  }
}
