import { expect } from 'chai';
import { checkClient, checkClients, checkLimits, changedLimits } from '../../../lib/clients/check-client.js';
import { ClientChangeError } from '../../../lib/clients/client-change-error.js';
import { tokenDigest } from '../../../lib/clients/token-digest.js';

const TOKEN = 'tok-research-0123456789abcdef';
const POOL_KEY = 'ms-11111111-aaaa-4bbb-8ccc-000000000001';
const reserved = (token: string) => (token === POOL_KEY ? 'one of the pool keys' : undefined);

function refusal(run: () => unknown): ClientChangeError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ClientChangeError);
    return error as ClientChangeError;
  }
  throw new Error('expected a ClientChangeError');
}

describe('clients: the rules of a client, checked when it is given', () => {
  it('keeps the name, the digest of the token (never the token) and the limits', () => {
    const client = checkClient(
      { name: 'research', token: TOKEN, dailyRequests: 300, requestsPerMinute: 20, maxInFlight: 4, models: ['a/b'] },
      reserved,
    );
    expect(client.name).to.equal('research');
    expect(client.digest.equals(tokenDigest(TOKEN))).to.equal(true);
    expect(client.limits).to.deep.equal({
      dailyRequests: 300,
      requestsPerMinute: 20,
      maxInFlight: 4,
      models: new Set(['a/b']),
    });
    expect(JSON.stringify(client)).not.to.include(TOKEN.slice(4, 16));
  });

  it('takes names of 1 and 64 characters of A-Z a-z 0-9 . _ -, and refuses 0, 65, others and "anonymous"', () => {
    expect(checkClient({ name: 'a', token: TOKEN }, reserved).name).to.equal('a');
    expect(checkClient({ name: 'A.b_c-9'.padEnd(64, 'x'), token: TOKEN }, reserved).name).to.have.length(64);
    for (const name of ['', 'x'.repeat(65), 'a b', 'é', 'a/b', 42, undefined, 'anonymous']) {
      const error = refusal(() => checkClient({ name, token: TOKEN }, reserved));
      expect(error.code, String(name)).to.equal('ERR_MSB_CLIENT_INVALID');
      expect(error.field).to.equal('name');
    }
  });

  it('never quotes a name that broke the rules (it may be a token pasted in the wrong field)', () => {
    const error = refusal(() => checkClient({ name: `${TOKEN} `, token: TOKEN }, reserved));
    expect(error.message).not.to.include(TOKEN.slice(0, 12));
  });

  it('refuses a missing, short, long or spaced token, never quoting it', () => {
    for (const token of [undefined, 'x'.repeat(15), 'x'.repeat(513), `${TOKEN} x`, 123]) {
      const error = refusal(() => checkClient({ name: 'a', token }, reserved));
      expect(error.code).to.equal('ERR_MSB_CLIENT_INVALID');
      expect(error.field).to.equal('token');
      if (typeof token === 'string') expect(error.message).not.to.include(token.slice(0, 12));
    }
    expect(checkClient({ name: 'a', token: 'x'.repeat(16) }, reserved).name).to.equal('a');
    expect(checkClient({ name: 'a', token: 'x'.repeat(512) }, reserved).name).to.equal('a');
    expect(refusal(() => checkClient({ name: 'a' }, reserved)).message).to.include('environment variable');
  });

  it('refuses a token that is a pool key (or whatever the caller reserves), never quoting it', () => {
    const error = refusal(() => checkClient({ name: 'a', token: POOL_KEY }, reserved));
    expect(error.code).to.equal('ERR_MSB_CLIENT_TOKEN_TAKEN');
    expect(error.message).to.include('one of the pool keys').and.not.include(POOL_KEY.slice(3, 15));
  });

  it('names an unknown field with the closest known one', () => {
    const error = refusal(() => checkClient({ name: 'a', token: TOKEN, dailyRequest: 3 }, reserved));
    expect(error.field).to.equal('dailyRequest');
    expect(error.message).to.include('Did you mean `dailyRequests`?');
  });

  it('takes limits from 1 to 1e9 and refuses 0, fractions, strings and more', () => {
    for (const field of ['dailyRequests', 'requestsPerMinute', 'maxInFlight']) {
      expect(checkLimits({ [field]: 1 })).to.deep.equal({ [field]: 1 });
      expect(checkLimits({ [field]: 1_000_000_000 })).to.deep.equal({ [field]: 1_000_000_000 });
      for (const value of [0, -1, 1.5, '3', 1_000_000_001]) {
        const error = refusal(() => checkLimits({ [field]: value }));
        expect(error.field).to.equal(field);
        expect(error.message).to.include('leave it out for no limit');
      }
    }
  });

  it('refuses an empty or repeating model list', () => {
    expect(refusal(() => checkLimits({ models: [] })).message).to.include('leave it out to allow every model');
    expect(refusal(() => checkLimits({ models: ['a', 'a'] })).field).to.equal('models[1]');
    expect(refusal(() => checkLimits({ models: ['a', ''] })).field).to.equal('models[1]');
  });

  it('changes only the limits named, null removing one', () => {
    const current = checkLimits({ dailyRequests: 10, maxInFlight: 2 });
    expect(changedLimits(current, { maxInFlight: null, requestsPerMinute: 5 })).to.deep.equal({
      dailyRequests: 10,
      requestsPerMinute: 5,
    });
  });

  it('checks a list: each client by its index, names and tokens distinct', () => {
    expect(refusal(() => checkClients({}, reserved)).field).to.equal('clients');
    const bad = refusal(() =>
      checkClients(
        [
          { name: 'a', token: TOKEN },
          { name: 'b', token: TOKEN, maxInFlight: 0 },
        ],
        reserved,
      ),
    );
    expect(bad.field).to.equal('clients[1].maxInFlight');
    const twice = refusal(() =>
      checkClients(
        [
          { name: 'a', token: TOKEN },
          { name: 'a', token: `${TOKEN}2` },
        ],
        reserved,
      ),
    );
    expect([twice.code, twice.field]).to.deep.equal(['ERR_MSB_CLIENT_EXISTS', 'clients[1].name']);
    const shared = refusal(() =>
      checkClients(
        [
          { name: 'a', token: TOKEN },
          { name: 'b', token: TOKEN },
        ],
        reserved,
      ),
    );
    expect([shared.code, shared.field]).to.deep.equal(['ERR_MSB_CLIENT_TOKEN_TAKEN', 'clients[1].token']);
    expect(shared.message).not.to.include(TOKEN.slice(0, 12));
  });
});
