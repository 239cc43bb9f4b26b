import { expect } from 'chai';
import { resolveClients } from '../../../lib/clients/resolve-clients.js';
import { BalanceConfigError } from '../../../lib/options/errors.js';

const KEY = 'ms-11111111-aaaa-4bbb-8ccc-000000000001';
const reserved = { keys: [KEY], accessTokens: ['access-token-0123456789'], adminToken: 'admin-token-0123456789' };

function refusal(value: unknown): BalanceConfigError {
  try {
    resolveClients(value, reserved);
  } catch (error) {
    expect(error).to.be.instanceOf(BalanceConfigError);
    return error as BalanceConfigError;
  }
  throw new Error('expected a BalanceConfigError');
}

describe('clients: the `clients` option at construction', () => {
  it('is undefined when left out, the checked list when given', () => {
    expect(resolveClients(undefined, reserved)).to.equal(undefined);
    expect(resolveClients([], reserved)).to.deep.equal([]);
    expect(resolveClients([{ name: 'a', token: 'token-of-a-0123456789' }], reserved)?.[0].name).to.equal('a');
  });

  it('refuses with BalanceConfigError naming clients[i].field, the closest name for a typo', () => {
    const typo = refusal([{ name: 'a', token: 'token-of-a-0123456789', maxInflight: 2 }]);
    expect([typo.code, typo.option]).to.deep.equal(['ERR_MSB_UNKNOWN_OPTION', 'clients[0].maxInflight']);
    expect(typo.message).to.include('Did you mean `maxInFlight`?');
    const bad = refusal([{ name: 'a', token: 'token-of-a-0123456789', dailyRequests: 0 }]);
    expect([bad.code, bad.option]).to.deep.equal(['ERR_MSB_INVALID_OPTION', 'clients[0].dailyRequests']);
  });

  it('refuses a name that holds part of a pool key (names are shown in metrics and logs)', () => {
    const error = refusal([{ name: KEY.slice(3, 20), token: 'token-of-a-0123456789' }]);
    expect(error.option).to.equal('clients[0].name');
    expect(error.message).to.include('holds part of a pool key').and.not.include(KEY.slice(3, 15));
  });

  it('refuses a token that is a pool key, an access token or the admin token, quoting none', () => {
    for (const [token, what] of [
      [KEY, 'one of the pool keys'],
      ['access-token-0123456789', 'one of the access tokens'],
      ['admin-token-0123456789', 'the admin token'],
    ]) {
      const error = refusal([{ name: 'a', token }]);
      expect(error.option).to.equal('clients[0].token');
      expect(error.message).to.include(what).and.not.include(token.slice(0, 12));
    }
  });
});
