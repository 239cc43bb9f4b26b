import { expect } from 'chai';
import { BalanceConfigError, modelscopeBalance } from '../../lib/index.js';
import { resolveModelRoutes } from '../../lib/model-routes/model-routes.js';
import { KEYS } from '../helpers.js';

const CODER = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const SMALL = 'Qwen/Qwen3-Coder-30B-A3B-Instruct';
const V31 = 'deepseek-ai/DeepSeek-V3.1';

function refusal(value: unknown): BalanceConfigError {
  try {
    resolveModelRoutes(
      value,
      KEYS.map((key) => ({ key })),
    );
  } catch (error) {
    expect(error).to.be.instanceOf(BalanceConfigError);
    return error as BalanceConfigError;
  }
  throw new Error('resolveModelRoutes accepted it');
}

describe('modelRoutes: checked at construction', () => {
  it('takes aliases and real ids as names, each to a frozen list of ids in order', () => {
    const routes = resolveModelRoutes({ coder: [CODER, SMALL], [V31]: [V31, CODER] });
    expect([...routes]).to.deep.equal([
      ['coder', [CODER, SMALL]],
      [V31, [V31, CODER]],
    ]);
    expect(Object.isFrozen(routes.get('coder'))).to.equal(true);
    expect(resolveModelRoutes(undefined).size).to.equal(0);
    expect(resolveModelRoutes({}).size).to.equal(0);
  });

  it('does not keep a reference to the caller’s lists (an option changed later changes nothing)', () => {
    const list = [CODER, SMALL];
    const routes = resolveModelRoutes({ coder: list });
    list.reverse();
    expect(routes.get('coder')).to.deep.equal([CODER, SMALL]);
  });

  // [what, value, option named in the error, what the message says]
  const refused: Array<[string, unknown, string, RegExp]> = [
    ['not an object', [CODER], 'modelRoutes', /must be an object of model names to lists/],
    ['null', null, 'modelRoutes', /must be an object/],
    ['a list that is a string', { coder: CODER }, 'modelRoutes["coder"]', /must be a list of ModelScope model ids/],
    ['an empty list', { coder: [] }, 'modelRoutes["coder"]', /empty list: give at least one/],
    ['an entry that is no string', { coder: [CODER, 7] }, 'modelRoutes["coder"][1]', /model id .*got 7/],
    [
      'an entry that is an alias',
      { coder: [CODER, 'small'] },
      'modelRoutes["coder"][1]',
      /owner\/name.*not other routes/,
    ],
    ['an entry with a space', { coder: ['Qwen/Qwen3 Coder'] }, 'modelRoutes["coder"][0]', /owner\/name/],
    ['an entry with two slashes', { coder: ['a/b/c'] }, 'modelRoutes["coder"][0]', /owner\/name/],
    ['a repeated entry', { coder: [CODER, SMALL, CODER] }, 'modelRoutes["coder"][2]', /repeats .*name each model once/],
    ['an empty name', { '': [CODER] }, 'modelRoutes', /a route's name is the model a client asks for/],
    ['a name with a space', { 'my coder': [CODER] }, 'modelRoutes', /no spaces/],
    ['a name too long', { ['x'.repeat(201)]: [CODER] }, 'modelRoutes', /1–200 visible ASCII/],
  ];
  for (const [what, value, option, message] of refused) {
    it(`refuses ${what}, naming the route and the fix`, () => {
      const error = refusal(value);
      expect(error.code).to.equal('ERR_MSB_INVALID_OPTION');
      expect(error.option).to.equal(option);
      expect(error.message).to.match(message);
    });
  }

  it('never quotes an entry or a name that holds a piece of a key', () => {
    for (const value of [
      { coder: [`x/${KEYS[1]}`] },
      { coder: [`${KEYS[1]} x`] },
      { [KEYS[2]]: [] },
      { [`a ${KEYS[0]}`]: [CODER] },
    ]) {
      const error = refusal(value);
      for (const key of KEYS) expect(error.message).not.to.include(key.slice(3, 15));
      expect(error.message).to.match(/contains one of the keys/);
    }
  });

  it('is an option of modelscopeBalance(): a wrong route stops construction', () => {
    expect(() => modelscopeBalance({ keys: KEYS, healthCheck: false, modelRoutes: { coder: [] } })).to.throw(
      BalanceConfigError,
      /modelRoutes\["coder"\]/,
    );
    const balancer = modelscopeBalance({ keys: KEYS, healthCheck: false, modelRoutes: { coder: [CODER] } });
    return balancer.close();
  });
});
