import { inspect } from 'node:util';
import { expect } from 'chai';
import { checkClient } from '../../../lib/clients/check-client.js';
import { ClientChangeError } from '../../../lib/clients/client-change-error.js';
import { ClientRegistry } from '../../../lib/clients/client-registry.js';

const none = () => undefined;
const client = (name: string, token: string, limits: object = {}) => checkClient({ name, token, ...limits }, none);
const A = 'token-of-a-0123456789';
const B = 'token-of-b-0123456789';
const ACCESS = 'access-token-0123456789';

describe('clients: the registry tells who sent a request by its token', () => {
  it('finds a named client, an access token as "anonymous", and nobody for anything else', () => {
    const registry = new ClientRegistry([client('a', A), client('b', B)], [ACCESS], () => 0);
    expect(registry.identify(A)?.name).to.equal('a');
    expect(registry.identify(A)?.entry?.name).to.equal('a');
    expect(registry.identify(B)?.name).to.equal('b');
    expect(registry.identify(ACCESS)).to.deep.equal({ name: 'anonymous' });
    for (const token of [undefined, '', `${A}x`, A.slice(0, -1), A.toUpperCase()])
      expect(registry.identify(token), String(token)).to.equal(undefined);
  });

  it('keeps no token, only digests', () => {
    const registry = new ClientRegistry([client('a', A)], [ACCESS], () => 0);
    const shown = inspect(registry, { depth: Infinity, showHidden: true });
    for (const token of [A, ACCESS]) {
      expect(shown).not.to.include(token.slice(0, 12));
      expect(shown).not.to.include(Buffer.from(token).toString('hex').slice(0, 24));
    }
  });

  it("adds, changes and removes clients; a removed token is nobody's", () => {
    const registry = new ClientRegistry([], [], () => 0);
    registry.add(client('a', A));
    expect(() => registry.add(client('a', B)))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_EXISTS');
    expect(() => registry.add(client('b', A)))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_TOKEN_TAKEN');
    registry.update('a', { maxInFlight: 3 });
    expect(registry.get('a')?.limits).to.deep.equal({ maxInFlight: 3 });
    registry.remove('a');
    expect(registry.identify(A)).to.equal(undefined);
    expect(() => registry.remove('a'))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_NOT_FOUND');
  });

  it('replaces every client at once: kept ones keep their state, a new token replaces the old one', () => {
    const registry = new ClientRegistry([client('a', A), client('b', B, { maxInFlight: 1 })], [], () => 0);
    const a = registry.get('a');
    const b = registry.get('b');
    if (a) a.inFlight = 2;
    const change = registry.replace([
      client('a', A),
      client('b', 'b-new-token-0123456789', { maxInFlight: 2 }),
      client('c', B),
    ]);
    expect(change).to.deep.equal({ added: ['c'], removed: [], changed: ['b'], kept: ['a'] });
    expect(registry.get('a')).to.equal(a);
    expect(registry.get('a')?.inFlight).to.equal(2);
    expect(registry.identify(B)?.name).to.equal('c');
    expect(registry.identify('b-new-token-0123456789')?.entry).to.equal(b);
    expect(registry.replace([]).removed).to.deep.equal(['a', 'b', 'c']);
    expect(registry.identify(A)).to.equal(undefined);
  });
});
