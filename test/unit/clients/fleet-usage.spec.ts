import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { fakeCounters } from '../../fixtures/fake-counters.js';
import { FleetUsage } from '../../../lib/clients/fleet-usage.js';

describe("clients: the fleet's usage totals", () => {
  let clock: Clock;
  beforeEach(() => {
    clock = install({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => clock.uninstall());
  const day = { day: () => 'd1', resetsAt: () => 1_000 };

  it('sends what it counted every flush, one command per client and figure that changed, not per request', async () => {
    const shared = fakeCounters();
    const usage = new FleetUsage(shared, day, 5_000);
    usage.start();
    for (let i = 0; i < 50; i++) usage.add('a', { requests: 1, upstream_calls: 1, prompt_tokens: 10 });
    expect(shared.calls).to.equal(0);
    await clock.tickAsync(5_000);
    expect(shared.calls).to.equal(3);
    expect(shared.totals.get('usage:a:d1:prompt_tokens')).to.equal(500);
    await clock.tickAsync(5_000);
    expect(shared.calls).to.equal(3);
    await usage.stop();
  });

  it("reads the fleet's totals, other replicas' included; keeps what Redis did not take for later", async () => {
    const shared = fakeCounters();
    const one = new FleetUsage(shared, day);
    const two = new FleetUsage(shared, day);
    one.add('a', { requests: 1, completion_tokens: 5 });
    shared.down = true;
    two.add('a', { requests: 2 });
    await two.flush();
    expect(await two.totals('a')).to.equal(undefined);
    shared.down = false;
    expect(await two.totals('a')).to.deep.equal({
      requests: 2,
      upstream_calls: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
    });
    expect(await one.totals('a')).to.deep.include({ requests: 3, completion_tokens: 5 });
  });
});
