import { expect } from 'chai';
import { KeyScrubber } from '../../lib/upstream/scrub.js';
import { testKey } from '../helpers.js';

describe('key scrubber', () => {
  const long = 'ms-abcdef12-3456';
  const table: Array<[string, string[], string, string]> = [
    ['a key in the middle', ['ms-secret-123456'], 'bad token ms-secret-123456 here', 'bad token [redacted] here'],
    ['a key at both ends', [long], `${long} and ${long}`, '[redacted] and [redacted]'],
    ['a key glued to other text', [long], `Bearer${long}.`, 'Bearer[redacted].'],
    ['the longer of two overlapping keys', [long, `${long}-7890`], `x ${long}-7890 ${long}`, 'x [redacted] [redacted]'],
    ['nothing when no key occurs', ['ms-secret-123456'], 'all clear', 'all clear'],
    ['unicode around a key', [long], `ünï ${long} ✓`, 'ünï [redacted] ✓'],
  ];
  for (const [what, keys, text, expected] of table) {
    it(`removes ${what}`, () => {
      expect(new KeyScrubber(keys).scrub(text)).to.equal(expected);
    });
  }

  it('keeps a buffer as it is when there is nothing to remove', () => {
    const body = Buffer.from('{"ok":true}');
    expect(new KeyScrubber(['x-key-0123456789']).scrubBuffer(body)).to.equal(body);
  });

  it('never matches fewer than 12 characters, whatever it is given (a short key must not eat every answer)', () => {
    const scrubber = new KeyScrubber(['a', 'e', 'data', 'ms-1234567']);
    for (const text of ['data: {"object":"chat.completion"}\n\n', 'modelscope-balance listening', 'ms-1234567']) {
      expect(scrubber.scrub(text)).to.equal(text);
      expect(scrubber.stream().push(Buffer.from(text)).toString()).to.equal(text);
    }
  });

  it('forgets a removed key, and keeps the others', () => {
    // No 12 characters in common: each key's pieces are its own.
    const [one, two] = ['ms-11111111-2222-4333-8444-555555555555', 'ms-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'];
    const scrubber = new KeyScrubber([one, two]);
    scrubber.remove(one);
    expect(scrubber.scrub(`${one} ${two}`)).to.equal(`${one} [redacted]`);
    scrubber.add(one);
    expect(scrubber.scrub(`${one} ${two}`)).to.equal('[redacted] [redacted]');
  });

  it('indexes 100,000 keys, then adds and forgets keys one at a time, matching exactly the keys it holds', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => testKey(i));
    const scrubber = new KeyScrubber(keys);
    // Each key's last 12 hex digits are a piece no other key holds.
    const own = (i: number) => `x ${keys[i].slice(-12)} y`;
    for (let i = 0; i < 2000; i += 2) scrubber.remove(keys[i]);
    for (let i = 0; i < 2000; i += 4) scrubber.add(keys[i]);
    for (let i = 0; i < 2000; i++) {
      const held = i % 2 === 1 || i % 4 === 0;
      expect(scrubber.scrub(own(i)), `key ${i}`).to.equal(held ? 'x [redacted] y' : own(i));
    }
    expect(scrubber.scrub(own(99_999))).to.equal('x [redacted] y');
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

  it('sees every run of 12 key characters, wherever it starts, while reading a twelfth of other bytes', () => {
    // The characters of the scrubber's key, and others.
    const keyish = 'ms-1a4b8c0';
    let seed = 11;
    const random = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let round = 0; round < 3000; round++) {
      const length = random(60);
      let text = '';
      for (let i = 0; i < length; i++) text += random(3) === 0 ? 'y z'[random(3)] : keyish[random(keyish.length)];
      const expected = /[ms\-1a4b8c0]{12}/.test(text);
      expect(scrubber.mayContainPiece(Buffer.from(text)), text).to.equal(expected);
    }
    expect(scrubber.mayContainPiece(Buffer.from('plain text \\ with an escape'))).to.equal(true);
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
