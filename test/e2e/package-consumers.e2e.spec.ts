// The published package as its users meet it: packed with `npm pack`, unpacked into node_modules, then imported
// from ESM JavaScript, CommonJS JavaScript, TypeScript ESM and TypeScript CommonJS (`module: node16`), each compiled
// by the repository's own tsc and run by node. Needs `npm run build` first (CI builds before testing).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url).pathname;
const tsc = join(root, 'node_modules/.bin/tsc');
const KEY = 'ms-11111111-aaaa-4bbb-8ccc-000000000001';

/** What every consumer does: build a balancer in front of the imitation, answer one call through it, close both. */
const SCRIPT_BODY = `
const fake = await startFakeModelScope();
const balancer = modelscopeBalance({ keys: ['${KEY}'], target: fake.url, healthCheck: false });
const app = express();
app.use('/ms', balancer);
const server = http.createServer(app).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const port = server.address().port;
const answer = await fetch('http://127.0.0.1:' + port + '/ms/v1/chat/completions', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'm', messages: [] }),
});
const text = await answer.text();
server.close();
await balancer.close();
await fake.close();
const store = typeof RedisStore === 'function' && typeof MemoryStore === 'function';
console.log(JSON.stringify({ status: answer.status, store, codes: BALANCER_ERROR_CODES.length > 0, text }));
`;

const CONSUMERS: Record<string, Record<string, string>> = {
  'esm-js': {
    'package.json': '{ "type": "module" }',
    'main.js':
      `import http from 'node:http';\n` +
      `import express from 'express';\n` +
      `import { modelscopeBalance, MemoryStore, BALANCER_ERROR_CODES } from 'modelscope-balance';\n` +
      `import { RedisStore } from 'modelscope-balance/redis';\n` +
      `import { startFakeModelScope } from 'modelscope-balance/testing';\n${SCRIPT_BODY}`,
  },
  'cjs-js': {
    'package.json': '{ "type": "commonjs" }',
    'main.js':
      `const http = require('node:http');\n` +
      `const express = require('express');\n` +
      `const { modelscopeBalance, MemoryStore, BALANCER_ERROR_CODES } = require('modelscope-balance');\n` +
      `const { RedisStore } = require('modelscope-balance/redis');\n` +
      `const { startFakeModelScope } = require('modelscope-balance/testing');\n` +
      `(async () => {${SCRIPT_BODY}})();`,
  },
  'ts-esm': {
    'package.json': '{ "type": "module" }',
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, outDir: 'out', types: ['node'] },
    }),
    'main.ts':
      `import http from 'node:http';\n` +
      `import express from 'express';\n` +
      `import type { AddressInfo } from 'node:net';\n` +
      `import { modelscopeBalance, MemoryStore, BALANCER_ERROR_CODES, type Options } from 'modelscope-balance';\n` +
      `import { RedisStore } from 'modelscope-balance/redis';\n` +
      `import { startFakeModelScope } from 'modelscope-balance/testing';\n` +
      `const typed: Options = { keys: ['${KEY}'] };\nvoid typed;\n` +
      SCRIPT_BODY.replace('server.address().port', '(server.address() as AddressInfo).port'),
  },
  'ts-cjs': {
    'package.json': '{ "type": "commonjs" }',
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'node16', target: 'es2022', strict: true, outDir: 'out', types: ['node'] },
    }),
    'main.ts':
      `import http = require('node:http');\n` +
      `import express = require('express');\n` +
      `import type { AddressInfo } from 'node:net';\n` +
      `import { modelscopeBalance, MemoryStore, BALANCER_ERROR_CODES, type Options } from 'modelscope-balance';\n` +
      `import { RedisStore } from 'modelscope-balance/redis';\n` +
      `import { startFakeModelScope } from 'modelscope-balance/testing';\n` +
      `const typed: Options = { keys: ['${KEY}'] };\nvoid typed;\n` +
      `(async () => {${SCRIPT_BODY.replace('server.address().port', '(server.address() as AddressInfo).port')}})();`,
  },
};

describe('the packed package, imported by four kinds of consumer', function () {
  this.timeout(60_000);
  const work = join(root, 'test/artifacts', `consumers-${process.pid}`);

  before(() => {
    rmSync(work, { recursive: true, force: true });
    const installed = join(work, 'node_modules/modelscope-balance');
    mkdirSync(installed, { recursive: true });
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
        cwd: root,
        encoding: 'utf8',
      }),
    );
    // Unpacked as npm would; its dependencies resolve from the repository's node_modules further up.
    execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const [name, files] of Object.entries(CONSUMERS)) {
    it(`${name}: compiles against the published types and runs a call through the balancer`, () => {
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
      let main = join(dir, 'main.js');
      if (files['tsconfig.json']) {
        // tsc's own diagnostics (TS1479 for an ESM-only package under `module: node16`) are the failure message.
        try {
          execFileSync(tsc, ['-p', dir], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
        } catch (error) {
          expect.fail(String((error as { stdout?: string }).stdout ?? error));
        }
        main = join(dir, 'out', readdirSync(join(dir, 'out')).find((f) => f.endsWith('.js')) ?? 'main.js');
        writeFileSync(join(dir, 'out/package.json'), files['package.json']);
      }
      const output = execFileSync(process.execPath, [main], { cwd: dir, encoding: 'utf8' });
      const result = JSON.parse(output.trim().split('\n').pop() ?? '{}');
      expect(result).to.include({ status: 200, store: true, codes: true });
      expect(result.text).to.include('chat.completion');
    });
  }
});
