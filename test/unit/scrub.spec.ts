import { expect } from 'chai';
import { KeyScrubber } from '../../lib/upstream/scrub.js';

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

describe('key scrubber: pieces, escapes and streams', () => {
  const key = 'ms-11111111-aaaa-4bbb-8ccc-000000000001';
  const scrubber = new KeyScrubber([key]);
  const pieces = (text: string) => {
    for (let i = 0; i + 12 <= key.length; i++) if (text.includes(key.slice(i, i + 12))) return true;
    return false;
  };

  it('removes any 12-character piece, a prefix or a middle part', () => {
    expect(scrubber.scrub(`prefix ${key.slice(0, 20)} end`)).to.equal('prefix [redacted] end');
    expect(scrubber.scrub(`middle ${key.slice(7, 19)}.`)).to.equal('middle [redacted].');
    // 11 characters are not a secret: they could occur by chance.
    expect(scrubber.scrub(`short ${key.slice(0, 11)}`)).to.equal(`short ${key.slice(0, 11)}`);
  });

  it('reads JSON escapes as the characters they stand for', () => {
    const escaped = JSON.stringify({ m: key }).replace(/-/g, '\\u002d');
    const clean = scrubber.scrub(escaped);
    expect(pieces(JSON.parse(clean).m)).to.equal(false);
    expect(JSON.parse(clean).m).to.equal('[redacted]');
  });

  it("catches a piece straddling chunk boundaries, wherever the cut, and keeps the stream's length", () => {
    const text = `data: {"x":"${key}"}\n\ndata: more ${key.slice(5)}\n\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      const stream = scrubber.stream();
      const out = Buffer.concat([
        stream.push(Buffer.from(text.slice(0, cut))),
        stream.push(Buffer.from(text.slice(cut))),
        stream.end(),
      ]).toString();
      expect(out.length, `cut at ${cut}`).to.equal(text.length);
      expect(pieces(out), `cut at ${cut}`).to.equal(false);
    }
  });

  it('passes an SSE event with no piece at once and untouched, holding nothing back', () => {
    const event = Buffer.from('data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n');
    expect(scrubber.stream().push(event)).to.equal(event);
  });

  it('holds back only a tail of key characters that may continue in the next chunk', () => {
    const stream = scrubber.stream();
    expect(stream.push(Buffer.from('text ms-1111')).toString()).to.equal('text ');
    // The held 'ms-1111' and the next chunk make a 16-character piece: replaced by a mark of the same length.
    expect(stream.push(Buffer.from('1111-aaaa more\n')).toString()).to.equal('[redacted******] more\n');
  });
});
