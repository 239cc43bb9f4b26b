import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { schema } from '../../example/config-schema.js';
import { DEFAULTS } from '../../lib/index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** README table rows whose first cell names `name` in backticks. */
const rowsNaming = (name: string) =>
  README.split('\n').filter((line) => line.startsWith('|') && line.split('|')[1]?.includes(`\`${name}\``));

/** A value as the README writes it in code: 30000, 'round-robin', [429, 500], true. */
function written(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(written).join(', ')}]`;
  return String(value);
}

describe('the README says the defaults the code uses', () => {
  describe('options table', () => {
    for (const [option, value] of Object.entries(DEFAULTS)) {
      it(`${option}`, () => {
        const rows = rowsNaming(option);
        expect(rows, `a README row for \`${option}\``).to.have.length.greaterThan(0);
        const row = rows.join('\n');
        if (typeof value !== 'object' || Array.isArray(value)) {
          expect(row).to.include(written(value));
          return;
        }
        for (const [name, leaf] of Object.entries(value))
          expect(row, `${option}.${name}`).to.include(`${name}: ${written(leaf)}`);
      });
    }
  });

  describe('server settings table', () => {
    for (const [setting, item] of Object.entries(schema) as Array<[string, { default: unknown }]>) {
      it(`${setting}`, () => {
        const rows = rowsNaming(setting);
        expect(rows, `a README row for \`${setting}\``).to.have.length.greaterThan(0);
        const shown = Array.isArray(item.default)
          ? '`[]`'
          : item.default === ''
            ? '`""`'
            : `\`${typeof item.default === 'object' ? JSON.stringify(item.default) : String(item.default)}\``;
        expect(rows.join('\n')).to.include(shown);
      });
    }
  });
});

describe('the README lists every error code', () => {
  it('that the balancer answers with, and that the config, key change and client change errors carry', async () => {
    const { BALANCER_ERROR_CODES, CONFIG_ERROR_CODES, KEY_CHANGE_ERROR_CODES, CLIENT_CHANGE_ERROR_CODES } =
      await import('../../lib/index.js');
    const codes = [...CONFIG_ERROR_CODES, ...KEY_CHANGE_ERROR_CODES, ...CLIENT_CHANGE_ERROR_CODES];
    for (const code of [...BALANCER_ERROR_CODES, ...codes]) expect(README, code).to.include(`\`${code}\``);
  });
});

describe('the README lists what the code emits', () => {
  /** The errors table: status cell and code cell of each row. */
  const errorRows = README.split('\n')
    .filter((line) => /^\| [^|]+ \| `[a-z_]+`/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()));

  it('every error code with the status it is answered with', async () => {
    const { BALANCER_ERROR_CODES } = await import('../../lib/index.js');
    const { ERROR_STATUSES } = await import('../../lib/answers/error-codes.js');
    for (const code of BALANCER_ERROR_CODES) {
      const rows = errorRows.filter((cells) => cells[2].split(' / ').includes(`\`${code}\``));
      expect(rows, `an errors-table row for ${code}`).to.have.length.greaterThan(0);
      const status = String(ERROR_STATUSES[code]);
      expect(
        rows.some((cells) => cells[1].split(' / ').includes(status)),
        `${code} is answered ${status}: the README says ${rows.map((cells) => cells[1]).join(', ')}`,
      ).to.equal(true);
    }
  });

  it('every key state /stats, /status and the metrics show, and the state changes the metric counts', async () => {
    const { SHOWN_STATES } = await import('../../lib/views/status-view.js');
    const chosen = README.slice(README.indexOf('## How keys are chosen'), README.indexOf('**Failover.**'));
    for (const state of [...SHOWN_STATES, 'model_exhausted'])
      expect(chosen, `"How keys are chosen" names ${state}`).to.include(`**${state}**`);
    const gauge = rowsNaming('modelscope_balance_key_state').join('\n');
    for (const state of SHOWN_STATES) expect(gauge, `the key_state row lists ${state}`).to.include(state);
  });

  it('every reason store_rejected_total counts', async () => {
    const { STORE_REJECT_REASONS } = await import('../../lib/observe/metrics.js');
    const row = rowsNaming('modelscope_balance_store_rejected_total').join('\n');
    for (const reason of STORE_REJECT_REASONS) expect(row).to.include(`\`${reason}\``);
  });
});
