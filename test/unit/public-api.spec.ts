import { expect } from 'chai';
import * as index from '../../lib/index.js';

describe('the public index', () => {
  it('exports the balancer and its errors, and none of the helpers only the example server uses', () => {
    expect(index).to.include.keys(
      'modelscopeBalance',
      'BalanceConfigError',
      'KeyChangeError',
      'KEY_CHANGE_ERROR_CODES',
    );
    // KeyScrubber, closestName and keyFormatProblem served only the example server, which imports them from their
    // modules: an export here would be an API to keep.
    expect(index).to.not.have.any.keys('KeyScrubber', 'closestName', 'keyFormatProblem');
  });
});
