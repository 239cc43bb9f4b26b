import { expect } from 'chai';
import { TokenBucket } from '../../../lib/clients/token-bucket.js';

describe('clients: requestsPerMinute as a token bucket', () => {
  it('lets the limit through at once, then one every 60 s / limit, saying exactly when', () => {
    const bucket = new TokenBucket(20, 0);
    for (let i = 0; i < 20; i++) expect(bucket.take(0), `request ${i + 1}`).to.equal(0);
    expect(bucket.take(0)).to.equal(3000);
    expect(bucket.take(2999)).to.equal(1);
    expect(bucket.take(3000)).to.equal(0);
    expect(bucket.take(3000)).to.equal(3000);
  });

  it('never holds more than the limit, however long it waited', () => {
    const bucket = new TokenBucket(2, 0);
    expect(bucket.level(3_600_000)).to.equal(2);
    expect([bucket.take(3_600_000), bucket.take(3_600_000)]).to.deep.equal([0, 0]);
    expect(bucket.take(3_600_000)).to.equal(30_000);
  });

  it('takes a token given back (a request refused by a later limit)', () => {
    const bucket = new TokenBucket(1, 0);
    expect(bucket.take(0)).to.equal(0);
    bucket.giveBack();
    expect(bucket.take(0)).to.equal(0);
    bucket.giveBack();
    bucket.giveBack();
    expect(bucket.level(0)).to.equal(1);
  });

  it('keeps what was spent when the limit changes', () => {
    const old = new TokenBucket(10, 0);
    for (let i = 0; i < 10; i++) old.take(0);
    const changed = new TokenBucket(20, 0, old.level(0));
    expect(changed.take(0)).to.equal(3000);
  });
});
