import { expect } from 'chai';
import { assignLabels, containsPieceOf, maskKey } from '../../lib/options/key-label.js';
import { KEYS } from '../helpers.js';

describe('labels', () => {
  it('labels are unique, show no 12 characters of a key, and short keys show none at all', () => {
    const lookalikes = ['ms-aaaaa-1111111111111111-zzzz', 'ms-aaaaa-2222222222222222-zzzz'];
    const labels = assignLabels([undefined, undefined], [undefined, undefined], lookalikes);
    expect(labels).to.deep.equal(['ms-aa…zzzz', 'ms-aa…zzzz#2']);
    for (const [i, label] of labels.entries()) expect(containsPieceOf(label, lookalikes[i])).to.equal(false);
    expect(maskKey('short')).to.equal('key');
    expect(maskKey(KEYS[0])).to.equal('ms-11…0001');
  });
});
