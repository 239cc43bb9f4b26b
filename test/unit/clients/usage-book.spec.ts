import { expect } from 'chai';
import { MAX_MODELS_PER_CLIENT, OTHER_MODELS, UsageBook } from '../../../lib/clients/usage-book.js';

describe('clients: the usage book', () => {
  it('keeps a bounded list of models per client, the rest counted as one', () => {
    const book = new UsageBook({ day: () => 'd1' });
    for (let i = 0; i < MAX_MODELS_PER_CLIENT + 5; i++) book.record('a', { upstreamCalls: 1, model: `m${i}` });
    book.record('a', { upstreamCalls: 1, model: 'x'.repeat(300) });
    const byModel = book.figures('a').byModel;
    expect(byModel.size).to.equal(MAX_MODELS_PER_CLIENT + 1);
    expect(byModel.get(OTHER_MODELS)?.requests).to.equal(6);
    expect(byModel.get('m0')?.requests).to.equal(1);
  });

  it("forgets yesterday's figures at the reset", () => {
    let day = 'd1';
    const book = new UsageBook({ day: () => day });
    book.record('a', { upstreamCalls: 1, promptTokens: 3 });
    expect(book.figures('a').promptTokens).to.equal(3);
    day = 'd2';
    expect(book.figures('a').requests).to.equal(0);
    expect(book.snapshot()).to.deep.equal({ day: 'd2', clients: {} });
  });

  it('restores a saved day, skipping records that are not figures', () => {
    const book = new UsageBook({ day: () => 'd1' });
    book.restore('d1', {
      a: {
        requests: 1,
        upstream_calls: 2,
        prompt_tokens: 3,
        completion_tokens: 4,
        by_model: { m: { requests: 1, prompt_tokens: 3, completion_tokens: 4 } },
      },
      b: { requests: -1, upstream_calls: 0, prompt_tokens: 0, completion_tokens: 0, by_model: {} },
      c: 'garbage',
    });
    expect(book.snapshot().clients).to.have.keys(['a']);
    expect(book.figures('a').byModel.get('m')).to.deep.equal({ requests: 1, promptTokens: 3, completionTokens: 4 });
  });
});
