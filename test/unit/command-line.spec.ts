import { expect } from 'chai';
import { normalizeFlags } from '../../example/command-line.js';
import { loadSettings, SettingsError } from '../../example/load-settings.js';
import { KEYS, assertNoKeyIn } from '../helpers.js';

const load = (args: string[]) => loadSettings({ MODELSCOPE_API_KEYS: KEYS.join(',') }, args);

function refusal(args: string[]): string {
  try {
    load(args);
  } catch (error) {
    expect(error).to.be.instanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected the flags to be refused');
}

describe('command-line flags', () => {
  it('accept every setting as --name_with_underscores, --name-with-dashes and --name=value', () => {
    for (const args of [
      ['--server_port', '9000'],
      ['--server-port', '9000'],
      ['--port', '9000'],
      ['--server_port=9000'],
      ['--server-port=9000'],
    ])
      expect(load(args).server_port, args.join(' ')).to.equal(9000);
    expect(load(['--log-level', 'warn']).log_level).to.equal('warn');
    expect(load(['--log_level=debug']).log_level).to.equal('debug');
    expect(load(['--retry-attempts', '5', '--retry_timeouts', 'always'])).to.include({
      retry_attempts: 5,
      retry_timeouts: 'always',
    });
    expect(load(['--keep-alive-timeout-ms', '70000']).keep_alive_timeout_ms).to.equal(70_000);
    expect(load(['--health-check', 'false']).health_check).to.equal(false);
  });

  it('refuse an unknown flag with the closest one, and never quote an argument that may be a token', () => {
    expect(refusal(['--server-prot', '9000'])).to.match(
      /--server-prot is not a known flag \(did you mean --server-port\?\)/,
    );
    expect(refusal(['--retry_attemps', '2'])).to.match(/did you mean --retry-attempts\?/);
    const pasted = refusal([`--${KEYS[0]}`]);
    expect(pasted).to.match(/the flag at argument 1 is not a known flag/);
    const positional = refusal(['--port', '9000', KEYS[1]]);
    expect(positional).to.match(/argument 3 is neither a flag nor a flag's value/);
    assertNoKeyIn(pasted + positional);
  });

  it('keep --config for the config file', () => {
    expect(normalizeFlags(['--config', '/x.json', '--port=1'])).to.deep.equal([
      '--config',
      '/x.json',
      '--server_port=1',
    ]);
  });
});
