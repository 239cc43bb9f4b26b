import { expect } from 'chai';
import { retryAfterMs, verdictForStatus } from '../../lib/upstream/attempt-outcome.js';

describe('what an upstream answer says about its key', () => {
  const zero = { 'modelscope-ratelimit-requests-remaining': '0' };
  const modelZero = {
    'modelscope-ratelimit-requests-remaining': '50',
    'modelscope-ratelimit-model-requests-remaining': '0',
  };
  const table: Array<[number, Record<string, string>, object]> = [
    [200, {}, { kind: 'success' }],
    [304, {}, { kind: 'success' }],
    [400, {}, { kind: 'neutral' }],
    [404, {}, { kind: 'neutral' }],
    [422, {}, { kind: 'neutral' }],
    [401, {}, { kind: 'refused' }],
    [403, {}, { kind: 'refused' }],
    [429, {}, { kind: 'rate_limited', retryAfterMs: undefined }],
    [429, { 'retry-after': '12' }, { kind: 'rate_limited', retryAfterMs: 12_000 }],
    [429, zero, { kind: 'exhausted', scope: 'account' }],
    [429, modelZero, { kind: 'exhausted', scope: 'model' }],
    [500, {}, { kind: 'failed' }],
    [503, {}, { kind: 'failed' }],
  ];
  for (const [status, headers, verdict] of table) {
    it(`${status} ${JSON.stringify(headers)} → ${JSON.stringify(verdict)}`, () => {
      expect(verdictForStatus(status, headers, 0)).to.deep.equal(verdict);
    });
  }

  it('reads Retry-After as seconds or as an HTTP date, and ignores nonsense', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': '1.5' }, now)).to.equal(1500);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).to.equal(30_000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now)).to.equal(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).to.equal(undefined);
    expect(retryAfterMs({}, now)).to.equal(undefined);
  });
});
