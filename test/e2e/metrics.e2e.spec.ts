import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import express from 'express';
import { Registry, collectDefaultMetrics, register as globalRegistry } from 'prom-client';
import request from 'supertest';
import { BalanceConfigError, modelscopeBalance } from '../../lib/index.js';
import { KEYS, assertNoKeyIn, chat, startRig, type Rig } from '../helpers.js';

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (.+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const label = (i: number) => Object.keys(rig.balancer.stats())[i];

  it('serves the registry at /metrics in the Prometheus text format', async () => {
    rig = await startRig();
    const res = await request(rig.app).get('/ms/metrics').expect(200);
    expect(res.headers['content-type']).to.include('text/plain');
    expect(res.text).to.include('# TYPE modelscope_balance_requests_total counter');
  });

  it('counts known traffic by key and code, in agreement with the upstream and /stats', async () => {
    rig = await startRig({ failureThreshold: 1 });
    rig.fake.behave(KEYS[0], 'server-error');
    for (let i = 0; i < 5; i++) expect((await chat(rig.url)).status).to.equal(200);
    const text = (await request(rig.app).get('/ms/metrics')).text;
    expect(sample(text, 'modelscope_balance_requests_total', { key: label(0), code: '500' })).to.equal(
      rig.fake.count(KEYS[0]),
    );
    expect(sample(text, 'modelscope_balance_requests_total', { key: label(1), code: '200' })).to.equal(
      rig.fake.count(KEYS[1]),
    );
    expect(sample(text, 'modelscope_balance_requests_total', { key: label(2), code: '200' })).to.equal(
      rig.fake.count(KEYS[2]),
    );
    expect(sample(text, 'modelscope_balance_key_healthy', { key: label(0) })).to.equal(0);
    expect(sample(text, 'modelscope_balance_key_healthy', { key: label(1) })).to.equal(1);
    expect(sample(text, 'modelscope_balance_key_state', { key: label(0), state: 'unhealthy' })).to.equal(1);
    expect(sample(text, 'modelscope_balance_retries_total', { reason: '500' })).to.equal(1);
    expect(
      sample(text, 'modelscope_balance_key_state_changes_total', {
        key: label(0),
        to: 'unhealthy',
        reason: 'failures',
      }),
    ).to.equal(1);
    const answered = rig.fake.received.length;
    const latencyCount = KEYS.reduce(
      (sum, _, i) => sum + (sample(text, 'modelscope_balance_upstream_response_seconds_count', { key: label(i) }) ?? 0),
      0,
    );
    expect(latencyCount).to.equal(answered);
    const stats = rig.balancer.stats();
    for (let i = 0; i < 3; i++) {
      const total = ['200', '500'].reduce(
        (sum, code) => sum + (sample(text, 'modelscope_balance_requests_total', { key: label(i), code }) ?? 0),
        0,
      );
      expect(total).to.equal(stats[label(i)].requests);
    }
  });

  it('counts network failures as code="error" and timeouts as code="timeout"', async () => {
    rig = await startRig({ timeouts: { firstByteMs: 100 }, retry: { attempts: 2, timeouts: 'always' } });
    rig.fake.behave(KEYS[0], 'reset');
    rig.fake.behave(KEYS[1], 'hang');
    await chat(rig.url);
    const text = (await request(rig.app).get('/ms/metrics')).text;
    expect(sample(text, 'modelscope_balance_requests_total', { key: label(0), code: 'error' })).to.equal(1);
    expect(sample(text, 'modelscope_balance_requests_total', { key: label(1), code: 'timeout' })).to.equal(1);
  });

  it('shows requests in flight, computed when scraped', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'hang');
    const pending = chat(rig.url).catch(() => undefined);
    while (rig.fake.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    const text = (await request(rig.app).get('/ms/metrics')).text;
    expect(sample(text, 'modelscope_balance_key_in_flight', { key: label(0) })).to.equal(1);
    await rig.close();
    await pending;
  });

  it('counts health checks and the 503s for no usable key', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 3_600_000 } });
    for (const key of KEYS) rig.fake.probe(key, 'fail');
    await rig.balancer.checkHealth();
    await chat(rig.url);
    const text = (await request(rig.app).get('/ms/metrics')).text;
    expect(sample(text, 'modelscope_balance_health_checks_total', { key: label(0), result: 'failed' })).to.be.at.least(
      1,
    );
    expect(sample(text, 'modelscope_balance_no_key_available_total', { reason: 'unavailable' })).to.equal(1);
  });

  it('never puts a key in a label value', async () => {
    rig = await startRig({ failureThreshold: 1 });
    rig.fake.behave(KEYS[1], 'unauthorized');
    for (let i = 0; i < 6; i++) await chat(rig.url);
    assertNoKeyIn((await request(rig.app).get('/ms/metrics')).text);
  });

  it('uses an injected registry, never the global one, and exposes it as balancer.registry', async () => {
    const registry = new Registry();
    rig = await startRig({ registry, metrics: { path: '/prom', prefix: 'msb_' } });
    expect(rig.balancer.registry).to.equal(registry);
    await chat(rig.url);
    expect(await registry.getSingleMetricAsString('msb_requests_total')).to.include('code="200"');
    expect(globalRegistry.getSingleMetric('msb_requests_total')).to.equal(undefined);
    expect(globalRegistry.getSingleMetric('modelscope_balance_requests_total')).to.equal(undefined);
    await request(rig.app).get('/ms/prom').expect(200);
  });

  it('serves no route with metrics: false, while the registry still fills', async () => {
    rig = await startRig({ metrics: false });
    await chat(rig.url);
    await request(rig.app).get('/ms/metrics').expect(200);
    expect(rig.fake.received.at(-1)?.url).to.equal('/metrics');
    expect(await rig.balancer.registry.getSingleMetricAsString('modelscope_balance_requests_total')).to.include(
      'code="200"',
    );
  });

  it('lets two balancers and a host app using the global registry live side by side', async () => {
    collectDefaultMetrics();
    const shared = new Registry();
    const one = modelscopeBalance({ keys: [KEYS[0]], healthCheck: false });
    const two = modelscopeBalance({ keys: [KEYS[1]], healthCheck: false });
    const three = modelscopeBalance({ keys: [KEYS[2]], healthCheck: false, registry: shared });
    const four = modelscopeBalance({
      keys: [KEYS[0]],
      healthCheck: false,
      registry: shared,
      metrics: { prefix: 'second_' },
    });
    const app = express().use('/a', one).use('/b', two);
    expect((await request(app).get('/a/metrics').expect(200)).text).to.include('modelscope_balance_key_healthy');
    expect((await request(app).get('/b/metrics').expect(200)).text).to.include('modelscope_balance_key_healthy');
    expect(await shared.getSingleMetricAsString('modelscope_balance_key_healthy')).to.include('key="ms-33…0003"');
    expect(await shared.getSingleMetricAsString('second_key_healthy')).to.include('key="ms-11…0001"');
    expect(await globalRegistry.metrics()).to.include('process_cpu_user_seconds_total');
    await Promise.all([one.close(), two.close(), three.close(), four.close()]);
    globalRegistry.clear();
  });

  it('refuses a second open balancer on one registry under one prefix, and frees the prefix on close', async () => {
    const shared = new Registry();
    const first = modelscopeBalance({ keys: [KEYS[0]], healthCheck: false, registry: shared });
    let refusal: unknown;
    try {
      modelscopeBalance({ keys: [KEYS[1]], healthCheck: false, registry: shared, metrics: false });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).to.be.instanceOf(BalanceConfigError);
    expect(refusal).to.include({ code: 'ERR_MSB_METRICS_PREFIX_IN_USE', option: 'metrics.prefix' });
    expect((refusal as Error).message).to.match(/its own prefix/);
    await first.close();
    const again = modelscopeBalance({ keys: [KEYS[1]], healthCheck: false, registry: shared });
    await again.close();
  });

  it('the Grafana dashboard only queries metrics that /metrics serves', async () => {
    rig = await startRig({ failureThreshold: 1, healthCheck: { intervalMs: 3_600_000 } });
    await rig.balancer.checkHealth();
    rig.fake.behave(KEYS[0], 'server-error');
    rig.fake.quota(KEYS[1], { limit: 2000, remaining: 1500 });
    await chat(rig.url);
    const served = new Set(
      (await request(rig.app).get('/ms/metrics')).text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    const dashboard = JSON.parse(
      readFileSync(new URL('../../example/grafana-dashboard.json', import.meta.url), 'utf8'),
    );
    const exprs: string[] = JSON.stringify(dashboard).match(/"expr":"((?:[^"\\]|\\.)*)"/g) ?? [];
    expect(exprs.length).to.be.at.least(6);
    const names = new Set(exprs.flatMap((e) => e.match(/\bmodelscope_balance_\w+/g) ?? []));
    expect(names.size).to.be.at.least(5);
    for (const name of names) expect(served, `${name} is not served`).to.include(name);
  });
});
