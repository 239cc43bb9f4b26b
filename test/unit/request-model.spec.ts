import { expect } from 'chai';
import { readModel, rewriteModel } from '../../lib/upstream/request-model.js';

/** What JSON.parse makes of `text`'s top-level string `model`: the contract readModel keeps. */
function parsedModel(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const model = (value as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

const NEW = 'Qwen/Qwen3-Coder-30B-A3B-Instruct';
const body = (text: string) => Buffer.from(text, 'utf8');

describe('request model: read and rewrite the top-level model in the bytes as sent', () => {
  // [what, body, what readModel gives, the body after rewriteModel(body, NEW) (undefined: none)]
  const table: Array<[string, string, string | undefined, string | undefined]> = [
    ['a plain chat body', '{"model":"a","messages":[]}', 'a', `{"model":"${NEW}","messages":[]}`],
    [
      'whitespace everywhere, kept',
      ' \n\t{ \r\n "model" \t:\n "a" \n, "x" : [ 1 , { } , [ ] ] } \n',
      'a',
      ` \n\t{ \r\n "model" \t:\n "${NEW}" \n, "x" : [ 1 , { } , [ ] ] } \n`,
    ],
    [
      'the last of two models (JSON.parse keeps it)',
      '{"model":"a","x":1,"model":"b"}',
      'b',
      `{"model":"a","x":1,"model":"${NEW}"}`,
    ],
    ['an escaped key, which is `model` too', '{"mod\\u0065l":"a"}', 'a', `{"mod\\u0065l":"${NEW}"}`],
    [
      'an escaped key after a plain one: the last wins',
      '{"model":"a","\\u006dodel":"b"}',
      'b',
      `{"model":"a","\\u006dodel":"${NEW}"}`,
    ],
    [
      'models nested before and after, never touched',
      '{"x":{"model":"n1"},"model":"a","y":[{"model":"n2"},[{"model":"n3"}]]}',
      'a',
      `{"x":{"model":"n1"},"model":"${NEW}","y":[{"model":"n2"},[{"model":"n3"}]]}`,
    ],
    [
      'a string holding `"model":` and escaped quotes',
      '{"content":"say \\"model\\": \\"evil\\", then {\\"model\\":\\"x\\"}","model":"a"}',
      'a',
      `{"content":"say \\"model\\": \\"evil\\", then {\\"model\\":\\"x\\"}","model":"${NEW}"}`,
    ],
    [
      'a string ending in an escaped backslash',
      '{"s":"back\\\\","model":"a","t":"\\\\\\""}',
      'a',
      `{"s":"back\\\\","model":"${NEW}","t":"\\\\\\""}`,
    ],
    [
      'big and odd numbers, kept digit for digit',
      '{"seed":12345678901234567890,"t":1.0e+400,"model":"a","z":-0.0,"e":1E-7}',
      'a',
      `{"seed":12345678901234567890,"t":1.0e+400,"model":"${NEW}","z":-0.0,"e":1E-7}`,
    ],
    [
      'unicode around it',
      '{"model":"通义/Qwen","emoji":"😀\\ud83d\\ude00"}',
      '通义/Qwen',
      `{"model":"${NEW}","emoji":"😀\\ud83d\\ude00"}`,
    ],
    ['an escaped value, decoded', '{"model":"Qwen\\/Qwen2.5\\u002d7B"}', 'Qwen/Qwen2.5-7B', `{"model":"${NEW}"}`],
    [
      'model after the others',
      '{"stream":true,"messages":[{"role":"user","content":"hi"}],"model":"a"}',
      'a',
      `{"stream":true,"messages":[{"role":"user","content":"hi"}],"model":"${NEW}"}`,
    ],
    ['model given last as a number', '{"model":"a","model":5}', undefined, undefined],
    ['model null', '{"model":null}', undefined, undefined],
    ['model an object', '{"model":{"model":"a"}}', undefined, undefined],
    ['model an array', '{"model":["a"]}', undefined, undefined],
    ['model true', '{"model":true}', undefined, undefined],
    ['no model', '{"messages":[]}', undefined, undefined],
    ['only nested models', '{"x":{"model":"a"},"y":[{"model":"b"}]}', undefined, undefined],
    ['`Model` (keys are case-sensitive)', '{"Model":"a"}', undefined, undefined],
    ['`model ` with a space', '{"model ":"a"}', undefined, undefined],
    ['an empty object', '{}', undefined, undefined],
    ['a JSON array', '[{"model":"a"}]', undefined, undefined],
    ['a JSON string', '"{\\"model\\":\\"a\\"}"', undefined, undefined],
    ['null', 'null', undefined, undefined],
    ['an empty body', '', undefined, undefined],
    ['only whitespace', ' \n ', undefined, undefined],
    ['text after the object', '{"model":"a"} x', undefined, undefined],
    ['two objects', '{"model":"a"}{"model":"b"}', undefined, undefined],
    ['a trailing comma', '{"model":"a",}', undefined, undefined],
    ['a cut-off body', '{"model":"a","messages":[', undefined, undefined],
    ['a cut-off value', '{"model":"a', undefined, undefined],
    ['single quotes', "{'model':'a'}", undefined, undefined],
    ['a bare key', '{model:"a"}', undefined, undefined],
    ['a byte order mark', '\ufeff{"model":"a"}', undefined, undefined],
    ['a bad escape', '{"model":"a","s":"\\x41"}', undefined, undefined],
    ['a short \\u escape', '{"model":"a\\u00"}', undefined, undefined],
    ['a raw tab in a string', '{"model":"a\tb"}', undefined, undefined],
    ['a leading zero', '{"model":"a","n":01}', undefined, undefined],
    ['NaN', '{"model":"a","n":NaN}', undefined, undefined],
    ['a bare dot', '{"model":"a","n":1.}', undefined, undefined],
    ['a plus sign', '{"model":"a","n":+1}', undefined, undefined],
    ['an unclosed array inside', '{"x":[1,2,"model":"a"}', undefined, undefined],
    ['mismatched brackets', '{"x":[1,2},"model":"a"}', undefined, undefined],
  ];
  for (const [what, text, model, rewritten] of table) {
    it(`${what}: ${model === undefined ? 'no model' : `reads ${JSON.stringify(model)}`}`, () => {
      expect(readModel(body(text))).to.equal(model);
      // The contract: what JSON.parse keeps.
      expect(readModel(body(text))).to.equal(parsedModel(text));
      const result = rewriteModel(body(text), NEW);
      expect(result?.toString('utf8')).to.equal(rewritten);
      if (result) expect(readModel(result)).to.equal(NEW);
    });
  }

  it('JSON-encodes the new value, whatever it holds', () => {
    for (const model of ['a"b', 'back\\slash', 'line\nbreak', '\u2028\u0000', '通义😀', '\ud800 lone']) {
      const result = rewriteModel(body('{"model":"a","n":12345678901234567890}'), model) as Buffer;
      expect(JSON.parse(result.toString('utf8')).model).to.equal(model);
      expect(readModel(result)).to.equal(model);
      expect(result.toString('utf8').endsWith(',"n":12345678901234567890}')).to.equal(true);
    }
  });

  it('crosses long strings four bytes at a time, wherever the words fall, stopping where JSON.parse would', () => {
    const specials = ['"', '\\n', '\\"', '\\u0041', '\\x', '\u0001', '\u001f', '\t', ' ', '\u007f', 'é', '😀'];
    for (let offset = 0; offset < 4; offset++) {
      for (const special of specials) {
        for (let at = 0; at < 24; at++) {
          const text = `{"a":"${'x'.repeat(at)}${special}${'y'.repeat(30 - at)}","model":"m"}`;
          const bytes = Buffer.from(text);
          const placed = Buffer.from(new ArrayBuffer(bytes.length + 8), offset, bytes.length);
          bytes.copy(placed);
          expect(readModel(placed), `${JSON.stringify(special)} at ${at}, offset ${offset}`).to.equal(
            parsedModel(text),
          );
        }
      }
    }
  });

  it('follows nesting 100,000 deep without recursion, as JSON.parse does', () => {
    const deep = `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)},"model":"a"}`;
    expect(readModel(body(deep))).to.equal('a');
    expect(readModel(body(`{"x":${'[{"a":'.repeat(50_000)}1${'}]'.repeat(50_000)},"model":"b"}`))).to.equal('b');
    expect(readModel(body(`{"x":${'['.repeat(100_000)},"model":"a"}`))).to.equal(undefined);
  });

  it('agrees with JSON.parse on 4,000 generated bodies, valid and mangled', () => {
    let seed = 24;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const space = () => pick(['', '', ' ', '\n', '\t', '\r\n ']);
    const keys = ['"model"', '"model"', '"mod\\u0065l"', '"Model"', '"x"', '"messages"', '"stream"', '"a\\"model"'];
    const strings = ['"a"', '"Qwen/Qwen2.5"', '"\\"model\\":\\"x\\""', '"\\\\"', '"通义😀"', '"\\u0041\\n"', '""'];
    const scalars = ['12345678901234567890', '-0.5e-3', '0', 'true', 'false', 'null', ...strings];
    const value = (depth: number): string => {
      const roll = random();
      if (depth > 3 || roll < 0.5) return pick(scalars);
      const count = Math.floor(random() * 4);
      const items = Array.from({ length: count }, () =>
        roll < 0.75
          ? `${space()}${value(depth + 1)}${space()}`
          : `${space()}${pick(keys)}${space()}:${space()}${value(depth + 1)}`,
      );
      return roll < 0.75 ? `[${items.join(',')}]` : `{${items.join(',')}}`;
    };
    const document = () => {
      const members = Array.from({ length: 1 + Math.floor(random() * 5) }, () => `${pick(keys)}:${space()}${value(1)}`);
      return `${space()}{${space()}${members.join(`,${space()}`)}${space()}}${space()}`;
    };
    const mangle = (text: string) => {
      const at = Math.floor(random() * (text.length + 1));
      const roll = random();
      if (roll < 0.33) return text.slice(0, at) + text.slice(at + 1);
      const inserted = pick(['"', '{', '}', '[', ']', ',', ':', '\\', ' ', '0', '-', '.', 'e', 'x']);
      return text.slice(0, at) + inserted + text.slice(roll < 0.66 ? at : at + 1);
    };
    let read = 0;
    for (let i = 0; i < 4000; i++) {
      const text = i % 2 === 0 ? document() : mangle(document());
      const expected = parsedModel(text);
      expect(readModel(body(text)), text).to.equal(expected);
      if (expected === undefined) continue;
      read++;
      const rewritten = rewriteModel(body(text), NEW) as Buffer;
      expect(JSON.parse(rewritten.toString('utf8')), text).to.deep.equal({ ...JSON.parse(text), model: NEW });
    }
    expect(read).to.be.greaterThan(500);
  });
});

describe('request model: bodies at any offset in their buffer (a slice of the socket buffer)', () => {
  // A body arrives as a slice of a larger buffer at whatever offset the headers before it left: every short body at
  // every alignment must read as JSON.parse reads it, never throw.
  const bodies = ['', '{', '{}', '[]', '""', '{"', '{"m', '{"model":"x"}', '{"model":"Qwen/Qwen3"}', '{"a":"\\u0041"}'];
  for (const text of bodies) {
    it(`reads ${JSON.stringify(text)} at byte offsets 0 to 7`, () => {
      for (let offset = 0; offset < 8; offset++) {
        const backing = Buffer.alloc(offset + text.length + 3);
        backing.write(text, offset);
        const body = backing.subarray(offset, offset + Buffer.byteLength(text));
        let expected: unknown;
        try {
          expected = (JSON.parse(text) as { model?: unknown } | null)?.model;
        } catch {
          expected = undefined;
        }
        expect(readModel(body), `offset ${offset}`).to.equal(typeof expected === 'string' ? expected : undefined);
        expect(() => rewriteModel(body, 'y'), `offset ${offset}`).not.to.throw();
      }
    });
  }
});
