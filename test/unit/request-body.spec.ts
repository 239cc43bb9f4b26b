import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { modelOf, readRequestBody } from '../../lib/engine/request-body.js';

function fakeRequest(headers: Record<string, string>, chunks: string[]): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers });
  setImmediate(() => {
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
  });
  return stream as unknown as IncomingMessage;
}

describe('request body', () => {
  it('reads a streamed body whole', async () => {
    const result = await readRequestBody(fakeRequest({}, ['ab', 'cd']), 100);
    expect(result).to.deep.equal({ ok: true, body: Buffer.from('abcd') });
  });

  it('refuses a declared length over the limit without reading', async () => {
    const result = await readRequestBody(fakeRequest({ 'content-length': '101' }, []), 100);
    expect(result).to.deep.include({ ok: false, status: 413 });
  });

  it('refuses a body that grows past the limit', async () => {
    const result = await readRequestBody(fakeRequest({}, ['x'.repeat(60), 'x'.repeat(60)]), 100);
    expect(result).to.deep.include({ ok: false, status: 413 });
  });

  it('reads the model of a JSON body, and nothing from other bodies', () => {
    expect(modelOf(Buffer.from('{"model":"Qwen/Qwen3"}'), 'application/json')).to.equal('Qwen/Qwen3');
    expect(modelOf(Buffer.from('{"model":"Qwen/Qwen3"}'), 'text/plain')).to.equal(undefined);
    expect(modelOf(Buffer.from('{"model":7}'), 'application/json')).to.equal(undefined);
    expect(modelOf(Buffer.from('{oops'), 'application/json')).to.equal(undefined);
    expect(modelOf(Buffer.alloc(0), undefined)).to.equal(undefined);
  });
});
