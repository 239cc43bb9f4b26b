import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { balancerOptions, loadSettings, SettingsError } from '../../example/load-settings.js';
import { KEYS, assertNoKeyIn } from '../helpers.js';

const CODER = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'msb-routes-')), 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function refusal(env: NodeJS.ProcessEnv, config: unknown = {}): SettingsError {
  try {
    loadSettings({ MODELSCOPE_API_KEYS: KEYS[0], ...env }, ['--config', file(config)]);
  } catch (error) {
    expect(error).to.be.instanceOf(SettingsError);
    return error as SettingsError;
  }
  throw new Error('expected the settings to be refused');
}

describe('server setting model_routes (MODEL_ROUTES)', () => {
  it('reads an object from the config file into the modelRoutes option', () => {
    const settings = loadSettings({}, ['--config', file({ api_keys: [KEYS[0]], model_routes: { coder: CODER } })]);
    expect(balancerOptions(settings).modelRoutes).to.deep.equal({ coder: CODER });
  });

  it('reads JSON from the environment, which wins over the file', () => {
    const config = file({ api_keys: [KEYS[0]], model_routes: { coder: CODER } });
    const settings = loadSettings({ MODEL_ROUTES: JSON.stringify({ fast: [CODER[1]] }) }, ['--config', config]);
    expect(balancerOptions(settings).modelRoutes).to.deep.equal({ fast: [CODER[1]] });
  });

  it('passes no option when unset or empty', () => {
    expect(
      balancerOptions(loadSettings({ MODELSCOPE_API_KEYS: KEYS[0] }, ['--config', file({})])),
    ).not.to.have.property('modelRoutes');
    const empty = loadSettings({ MODELSCOPE_API_KEYS: KEYS[0], MODEL_ROUTES: ' ' }, ['--config', file({})]);
    expect(balancerOptions(empty)).not.to.have.property('modelRoutes');
  });

  it('refuses text that is not JSON, or JSON of another shape, naming the setting and an example', () => {
    for (const [env, config] of [
      [{ MODEL_ROUTES: '{coder: [x]}' }, {}],
      [{ MODEL_ROUTES: '["Qwen/Qwen3-Coder-30B-A3B-Instruct"]' }, {}],
      [{}, { model_routes: { coder: 'Qwen/Qwen3-Coder-30B-A3B-Instruct' } }],
    ] as const) {
      const error = refusal(env, config);
      expect(error.setting).to.equal('model_routes');
      expect(error.message).to.include('Qwen/Qwen3-Coder-480B-A35B-Instruct');
    }
  });

  it('checks the routes as the balancer does, at load, naming the setting and the route', () => {
    const error = refusal({ MODEL_ROUTES: '{"coder":["Qwen/Qwen3-Coder-30B-A3B-Instruct","coder"]}' });
    expect(error.setting).to.equal('model_routes');
    expect(error.message).to.match(/^model_routes: model_routes\["coder"\]\[1\] must be a ModelScope model id/);
    expect(error.message).to.include('MODEL_ROUTES');
    const empty = refusal({ MODEL_ROUTES: '{"coder":[]}' });
    expect(empty.message).to.include('model_routes["coder"] is an empty list');
  });

  it('never quotes a key pasted into a route', () => {
    const error = refusal({ MODEL_ROUTES: JSON.stringify({ coder: [`x/${KEYS[0]}`] }) });
    assertNoKeyIn(error.message);
  });
});
