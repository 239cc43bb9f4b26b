import { expect } from 'chai';
import { readBalance } from '../../lib/upstream/balance-reading.js';

describe('reading a balance answer', () => {
  const cases: Array<[string, unknown, object | undefined]> = [
    [
      'the reported shape',
      { total_balance: 250, available_balance: 120, frozen_amount: 5 },
      { available: 120, total: 250, frozen: 5 },
    ],
    [
      'nested in data',
      { code: 200, success: true, data: { total_balance: 250, available_balance: 0, frozen_amount: 0 } },
      { available: 0, total: 250, frozen: 0 },
    ],
    [
      'nested twice, as strings, in camel case',
      { Data: { data: { TotalBalance: '250.5', AvailableBalance: '12.25' } } },
      { available: 12.25, total: 250.5, frozen: null },
    ],
    ['a negative balance', { data: { available_balance: -3 } }, { available: -3, total: null, frozen: null }],
    ['no available balance', { data: { total_balance: 250 } }, undefined],
    ['an available balance that is not a number', { available_balance: 'plenty' }, undefined],
    ['an error', { success: false, message: 'Invalid token' }, undefined],
    ['nested too deep', { a: { b: { c: { d: { e: { f: { available_balance: 1 } } } } } } }, undefined],
    ['a list', [{ available_balance: 1 }], undefined],
    ['null', null, undefined],
  ];
  for (const [name, body, expected] of cases) {
    it(`${name} → ${JSON.stringify(expected)}`, () => {
      expect(readBalance(JSON.stringify(body))).to.deep.equal(expected);
    });
  }

  it('reads text that is not JSON as unreadable, never as zero', () => {
    expect(readBalance('<html>Bad gateway</html>')).to.equal(undefined);
    expect(readBalance('')).to.equal(undefined);
  });
});
