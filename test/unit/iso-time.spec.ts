import { expect } from 'chai';
import { isoTime, isoTimeOrNull } from '../../lib/views/iso-time.js';
import { renderKeyRow } from '../../lib/views/status-page.js';
import type { StatusKey } from '../../lib/views/status-view.js';

describe('times and strings shown to people never break a page', () => {
  it('ISO text of any number, clamped: 1e300, -1e300, NaN and Infinity never throw', () => {
    expect(isoTime(1e300)).to.equal('+275760-09-13T00:00:00.000Z');
    expect(isoTime(-1e300)).to.equal('-271821-04-20T00:00:00.000Z');
    expect(isoTime(Number.NaN)).to.equal('1970-01-01T00:00:00.000Z');
    expect(isoTime(Number.POSITIVE_INFINITY)).to.equal('+275760-09-13T00:00:00.000Z');
    expect(isoTimeOrNull(0)).to.equal(null);
    expect(isoTimeOrNull(Date.UTC(2026, 0, 1))).to.equal('2026-01-01T00:00:00.000Z');
  });

  it("a row escapes every value and gives a state it doesn't know no class of its own", () => {
    const hostile = '"><img src=x onerror=alert(1)>';
    const key = {
      label: hostile,
      state: hostile,
      requests: 1,
      in_flight: 0,
      quota: null,
      until: null,
      until_kind: null,
      last_error: { reason: hostile, status: 500, at: `2026-01-01T00:00:00.000Z${hostile}` },
    } as unknown as StatusKey;
    const row = renderKeyRow(key, Date.now());
    expect(row).not.to.include('<img');
    expect(row).to.include('class="badge state-unknown"');
  });
});
