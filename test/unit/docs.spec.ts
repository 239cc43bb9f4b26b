import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ERROR_STATUSES } from '../../lib/answers/error-codes.js';
import {
  BALANCER_ERROR_CODES,
  BALANCER_EVENTS,
  CLIENT_CHANGE_ERROR_CODES,
  CONFIG_ERROR_CODES,
  KEY_CHANGE_ERROR_CODES,
} from '../../lib/index.js';

const read = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

/** The rows of the table under `heading`: each row's cells, trimmed. */
function tableUnder(text: string, heading: string): string[][] {
  const start = text.indexOf(heading);
  expect(start, heading).to.be.greaterThan(-1);
  const section = text.slice(start).split('\n## ')[0];
  return section
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

const codeOf = (cells: string[]) => cells[0].replace(/`/g, '');

describe('docs/errors.md lists every error code, and no other', () => {
  const errors = read('errors.md');

  it('the codes answers carry (BALANCER_ERROR_CODES), each with its status and the version it came in', () => {
    const rows = tableUnder(errors, '## In answers');
    expect(rows.map(codeOf).sort()).to.deep.equal([...BALANCER_ERROR_CODES].sort());
    for (const cells of rows) {
      expect(cells[1], codeOf(cells)).to.equal(String(ERROR_STATUSES[codeOf(cells) as keyof typeof ERROR_STATUSES]));
      expect(cells.at(-1), codeOf(cells)).to.match(/^0\.[12]\.0$/);
    }
  });

  it('the codes of BalanceConfigError (CONFIG_ERROR_CODES) and of KeyChangeError (KEY_CHANGE_ERROR_CODES)', () => {
    const config = tableUnder(errors, '## Thrown by `modelscopeBalance()`');
    expect(config.map(codeOf).sort()).to.deep.equal([...CONFIG_ERROR_CODES].sort());
    const keyChanges = tableUnder(errors, '## Thrown by key changes');
    expect(keyChanges.map(codeOf).sort()).to.deep.equal([...KEY_CHANGE_ERROR_CODES].sort());
    const clientChanges = tableUnder(errors, '## Thrown by client changes');
    expect(clientChanges.map(codeOf).sort()).to.deep.equal([...CLIENT_CHANGE_ERROR_CODES].sort());
    for (const cells of [...config, ...keyChanges, ...clientChanges])
      expect(cells.at(-1), codeOf(cells)).to.match(/^0\.[12]\.0$/);
  });
});

describe('docs/events.md describes every event', () => {
  it('a section per event name', () => {
    const events = read('events.md');
    const sections = [...events.matchAll(/^## `(\w+)`$/gm)].map((match) => match[1]);
    expect(sections).to.deep.equal([...BALANCER_EVENTS]);
  });
});
