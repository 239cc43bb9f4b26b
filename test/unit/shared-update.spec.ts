import { expect } from 'chai';
import { parseStoreText, readUpdate } from '../../lib/store/shared-update.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const ID = 'a'.repeat(32);
const key = (fields: object = {}) => ({
  v: 1,
  kind: 'key',
  id: ID,
  at: NOW - 10,
  status: 'cooling',
  until: NOW + 60_000,
  lastError: { status: 429, reason: 'rate limited (429)', at: NOW - 10 },
  ...fields,
});
const figures = (fields: object = {}) => ({
  limit: 100,
  remaining: 0,
  seenAt: NOW,
  staleAt: NOW + 3_600_000,
  ...fields,
});
const quota = (fields: object = {}) => ({
  v: 1,
  kind: 'quota',
  id: ID,
  at: NOW,
  overall: figures(),
  models: [['deepseek-ai/DeepSeek-V3.1', figures()]],
  exhaustion: null,
  strikes: null,
  balance: null,
  ...fields,
});
const exhaustion = (fields: object = {}) => ({
  source: 'inferred',
  since: NOW - 1_000,
  until: NOW + 3_600_000,
  nextTrialAt: NOW + 1_800_000,
  ...fields,
});
const balance = { available: 0, total: 250, frozen: null, seenAt: NOW, ignoredUntil: 0 };

describe('what a replica accepts from the store (readUpdate)', () => {
  it('accepts exactly what this version writes: a key, a quota, a hold', () => {
    for (const value of [
      key(),
      key({ lastError: null, status: 'healthy', until: 0 }),
      quota(),
      quota({ overall: null }),
      quota({ exhaustion: exhaustion(), strikes: { count: 2, nextAt: NOW + 5_000, until: NOW + 3_600_000 }, balance }),
    ])
      expect(readUpdate(value, NOW)).to.have.property('update');
    expect(readUpdate({ v: 1, kind: 'hold', id: ID, at: NOW, held: true }, NOW)).to.have.property('update');
  });

  const rejected: Array<[string, unknown, string]> = [
    ['not an object', 'cooling', 'malformed'],
    ['an older version (no v)', { ...key(), v: undefined }, 'version'],
    ['a newer version', key({ v: 2 }), 'version'],
    ['an unknown kind', key({ kind: 'owner' }), 'kind'],
    ['a kind borrowed from Object.prototype', key({ kind: 'constructor' }), 'kind'],
    ['an extra field (a changed shape)', key({ weight: 3 }), 'shape'],
    ['a missing field', { ...key(), until: undefined }, 'shape'],
    ['an unknown status', key({ status: 'pwned' }), 'shape'],
    ['HTML as a status', key({ status: '<b>x</b>' }), 'shape'],
    ['until 1e300', key({ until: 1e300 }), 'time'],
    ['until Infinity (as JSON cannot say, but a store might)', key({ until: Infinity }), 'time'],
    ['until four days ahead', key({ until: NOW + 4 * 86_400_000 }), 'time'],
    ['a non-numeric at', key({ at: 'yesterday' }), 'shape'],
    ['at far in the future (it would block every later change)', key({ at: NOW + 86_400_000 }), 'time'],
    ['at 0', key({ at: 0 }), 'time'],
    ['an id that is no fingerprint', key({ id: '../../etc' }), 'shape'],
    ['a last error with a status of 1000', key({ lastError: { status: 1000, reason: 'x', at: NOW } }), 'shape'],
    ['a reason of 10,000 characters', key({ lastError: { status: 500, reason: 'x'.repeat(10_000), at: NOW } }), 'size'],
    ['staleAt 1e300', quota({ overall: figures({ staleAt: 1e300 }) }), 'time'],
    ['a reset three days ahead', quota({ overall: figures({ staleAt: NOW + 72 * 3_600_000 }) }), 'time'],
    ['a negative remaining', quota({ overall: figures({ remaining: -1 }) }), 'shape'],
    ['a remaining as text', quota({ overall: figures({ remaining: '5' }) }), 'shape'],
    ['257 models', quota({ models: Array.from({ length: 257 }, (_, i) => [`m${i}`, figures()]) }), 'size'],
    ['a model name of 1,000 characters', quota({ models: [['m'.repeat(1_000), figures()]] }), 'size'],
    ['a quota without the fields known without counters', { ...quota(), strikes: undefined }, 'shape'],
    ['an exhaustion from an unknown source', quota({ exhaustion: exhaustion({ source: '<i>x</i>' }) }), 'shape'],
    ['an exhaustion until 1e300', quota({ exhaustion: exhaustion({ until: 1e300 }) }), 'time'],
    ['a trial a year ahead', quota({ exhaustion: exhaustion({ nextTrialAt: NOW + 365 * 86_400_000 }) }), 'time'],
    ['a strike count as text', quota({ strikes: { count: '3', nextAt: NOW, until: NOW } }), 'shape'],
    ['a balance of null', quota({ balance: { ...balance, available: null } }), 'shape'],
    ['a negative balance', quota({ balance: { ...balance, available: -5 } }), 'shape'],
    ['a hold that is not a boolean', { v: 1, kind: 'hold', id: ID, at: NOW, held: 'yes' }, 'shape'],
  ];
  for (const [what, value, reason] of rejected) {
    it(`drops ${what} (${reason})`, () => {
      expect(readUpdate(value, NOW)).to.deep.equal({ rejected: reason });
    });
  }

  it('parses text only up to a length, and says why it did not', () => {
    expect(parseStoreText('x'.repeat(100), 10)).to.deep.equal({ rejected: 'oversized' });
    expect(parseStoreText('{"v":', 10)).to.deep.equal({ rejected: 'malformed' });
    expect(parseStoreText('{"v":1}', 10)).to.deep.equal({ value: { v: 1 } });
  });
});
