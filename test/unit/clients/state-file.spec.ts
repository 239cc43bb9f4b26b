import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { StateFile } from '../../../lib/clients/state-file.js';
import { captureLogger, waitFor } from '../../helpers.js';

describe('clients: the state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'msb-state-'));
  });

  it('writes atomically (a temporary file renamed), only when the state changed, and loads it back', async () => {
    let state = { n: 1 };
    const path = join(dir, 'state.json');
    const file = new StateFile({ path, read: () => state, logger: captureLogger() });
    expect(file.load()).to.equal(undefined);
    await file.save();
    expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal({ n: 1 });
    expect(readdirSync(dir)).to.deep.equal(['state.json']);
    writeFileSync(path, 'edited by hand');
    await file.save();
    expect(readFileSync(path, 'utf8')).to.equal('edited by hand');
    state = { n: 2 };
    await file.stop();
    expect(new StateFile({ path, read: () => state, logger: captureLogger() }).load()).to.deep.equal({ n: 2 });
  });

  it('writes every interval while started (fake clock)', async () => {
    const clock: Clock = install({ toFake: ['setInterval', 'clearInterval'] });
    try {
      let state = { n: 1 };
      const path = join(dir, 'state.json');
      const file = new StateFile({ path, read: () => state, logger: captureLogger(), intervalMs: 5_000 });
      file.start();
      clock.tick(4_999);
      expect(existsSync(path)).to.equal(false);
      clock.tick(1);
      await waitFor(() => existsSync(path));
      state = { n: 2 };
      clock.tick(5_000);
      await waitFor(() => readFileSync(path, 'utf8') === '{"n":2}');
      await file.stop();
    } finally {
      clock.uninstall();
    }
  });

  it('makes no file for an empty state, but writes an empty state over an older one', async () => {
    let state = { n: 0 };
    const path = join(dir, 'state.json');
    const isEmpty = (value: unknown) => (value as { n: number }).n === 0;
    const file = new StateFile({ path, read: () => state, logger: captureLogger(), isEmpty });
    await file.save();
    expect(existsSync(path)).to.equal(false);
    state = { n: 1 };
    await file.save();
    state = { n: 0 };
    await file.save();
    expect(readFileSync(path, 'utf8')).to.equal('{"n":0}');
  });

  it('skips a file that is not JSON with one warning, and warns once when it cannot write', async () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, '{ half');
    const logger = captureLogger();
    expect(new StateFile({ path, read: () => ({}), logger }).load()).to.equal(undefined);
    expect(logger.lines).to.have.length(1);
    const nowhere = new StateFile({ path: join(dir, 'no', 'such', 'dir.json'), read: () => ({ a: 1 }), logger });
    await nowhere.save();
    await nowhere.save();
    expect(logger.lines.filter((l) => l.msg?.includes('cannot be written'))).to.have.length(1);
  });
});
