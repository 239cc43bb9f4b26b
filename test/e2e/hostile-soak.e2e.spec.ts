import { expect } from 'chai';
import { runHostileSoak } from '../fixtures/hostile-soak.js';

// The same soak runs for a minute with `npm run soak`; here a few seconds keep the suite fast.
describe(
  'hostile soak: echoes, 101s, trickles, giant bodies, absurd Retry-After, clients that never ' + 'read',
  function () {
    this.timeout(30_000);

    it(
      'crashes nothing, leaks no key piece, leaves nothing in flight and blames no key for a silent ' + 'client',
      async () => {
        const report = await runHostileSoak(Number(process.env.SOAK_SECONDS ?? 4), 10, {
          minRequests: 51,
          minNonReaders: 3,
        });
        expect(report.problems).to.deep.equal([]);
        expect(report.requests).to.be.greaterThan(50);
        expect(report.nonReaders).to.be.greaterThan(2);
      },
    );
  },
);
