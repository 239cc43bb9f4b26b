import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { startScript } from './processes.js';
const cpuOf = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; }; // ms (CLK_TCK=100)
const up = await startScript('up', 'upstream.ts');
const target = ['--target', `http://127.0.0.1:${up.port}`];
const body = JSON.stringify({ model: 'm', messages: [] });
const b3 = ['b3', 'balancer.ts', [...target, '--keys', '3']] as const;
const b10k = ['b10k', 'balancer.ts', [...target, '--keys', '10000']] as const;
for (const [name, script, args] of [b3, b10k, b3, b10k, b3, b10k, b3, b10k, b3, b10k]) {
  const r = await startScript(name, script, [...args]);
  await autocannon({ url: `http://127.0.0.1:${r.port}/v1/chat/completions`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 50, amount: 10000 });
  const before = cpuOf(r.pid);
  const res = await autocannon({ url: `http://127.0.0.1:${r.port}/v1/chat/completions`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 50, amount: 30000 });
  const after = cpuOf(r.pid);
  console.log(name, 'cpu µs/request', ((after - before) * 1000 / 30000).toFixed(1), 'rps', res.requests.average.toFixed(0), 'p99', res.latency.p99);
  await r.stop();
}
await up.stop();
