import { expect } from 'chai';
import { nextResetAt, parseResetTime } from '../../lib/pool/quota-clock.js';

describe('quota reset clock', () => {
  const table: Array<[string, string, string, string]> = [
    ['just before midnight in Shanghai', '2026-03-01T15:59:59Z', 'Asia/Shanghai', '2026-03-01T16:00:00.000Z'],
    ['at midnight in Shanghai', '2026-03-01T16:00:00Z', 'Asia/Shanghai', '2026-03-02T16:00:00.000Z'],
    ['noon in Shanghai', '2026-03-01T04:00:00Z', 'Asia/Shanghai', '2026-03-01T16:00:00.000Z'],
    ['in UTC', '2026-03-01T04:00:00Z', 'UTC', '2026-03-02T00:00:00.000Z'],
    ['across a DST change in New York', '2026-03-08T06:00:00Z', 'America/New_York', '2026-03-09T04:00:00.000Z'],
  ];
  for (const [what, now, zone, expected] of table) {
    it(`finds the next midnight ${what}`, () => {
      expect(new Date(nextResetAt(Date.parse(now), zone, 0)).toISOString()).to.equal(expected);
    });
  }

  it('honours a reset time other than midnight', () => {
    expect(new Date(nextResetAt(Date.parse('2026-03-01T00:00:00Z'), 'UTC', 8 * 60 + 30)).toISOString()).to.equal(
      '2026-03-01T08:30:00.000Z',
    );
  });

  it('parses HH:MM and refuses the rest', () => {
    expect(parseResetTime('00:00')).to.equal(0);
    expect(parseResetTime('23:59')).to.equal(23 * 60 + 59);
    for (const bad of ['24:00', '7:00', '12:60', 'noon']) expect(parseResetTime(bad)).to.equal(undefined);
  });
});
