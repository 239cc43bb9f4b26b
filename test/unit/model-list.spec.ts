import { expect } from 'chai';
import { withRouteNames } from '../../lib/model-routes/model-list.js';

const upstream = {
  object: 'list',
  data: [
    { id: 'Qwen/Qwen3-Coder-480B-A35B-Instruct', object: 'model', created: 1_700_000_000, owned_by: 'system' },
    { id: 'deepseek-ai/DeepSeek-V3.1', object: 'model', created: 1_700_000_000, owned_by: 'system' },
  ],
};
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('GET /v1/models with the route names added', () => {
  it('appends each route name the upstream does not list, owned by modelscope-balance', () => {
    const names = ['coder', 'deepseek-ai/DeepSeek-V3.1', 'Qwen/QwQ-32B'];
    const list = JSON.parse(withRouteNames(body(upstream), names).toString());
    expect(list.object).to.equal('list');
    expect(list.data.slice(0, 2)).to.deep.equal(upstream.data);
    expect(list.data.slice(2)).to.deep.equal([
      { id: 'coder', object: 'model', created: 0, owned_by: 'modelscope-balance' },
      { id: 'Qwen/QwQ-32B', object: 'model', created: 0, owned_by: 'modelscope-balance' },
    ]);
  });

  it('passes the body as it came when there is nothing to add, or it is not a models list', () => {
    for (const original of [
      body(upstream),
      Buffer.from('{"error":{"message":"nope"}}'),
      Buffer.from('not json'),
      body({ data: 'x' }),
      body([1, 2]),
    ]) {
      expect(withRouteNames(original, ['deepseek-ai/DeepSeek-V3.1'])).to.equal(original);
    }
    expect(withRouteNames(Buffer.from('not json'), ['coder']).toString()).to.equal('not json');
  });
});
