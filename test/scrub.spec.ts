import { expect } from 'chai';
import { KeyScrubber } from '../lib/scrub.js';

describe('key scrubber', () => {
  const table: Array<[string, string[], string, string]> = [
    ['a key in the middle', ['ms-secret-123'], 'bad token ms-secret-123 here', 'bad token [redacted] here'],
    ['a key at both ends', ['k-1'], 'k-1 and k-1', '[redacted] and [redacted]'],
    ['a key glued to other text', ['abc'], 'Bearerabc.', 'Bearer[redacted].'],
    ['the longer of two overlapping keys', ['ms-a', 'ms-abcd'], 'x ms-abcd ms-a', 'x [redacted] [redacted]'],
    ['nothing when no key occurs', ['ms-secret'], 'all clear', 'all clear'],
    ['unicode around a key', ['ms-k'], 'ünï ms-k ✓', 'ünï [redacted] ✓'],
  ];
  for (const [what, keys, text, expected] of table) {
    it(`removes ${what}`, () => {
      expect(new KeyScrubber(keys).scrub(text)).to.equal(expected);
    });
  }

  it('keeps a buffer as it is when there is nothing to remove', () => {
    const body = Buffer.from('{"ok":true}');
    expect(new KeyScrubber(['x-key']).scrubBuffer(body)).to.equal(body);
  });
});
