import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url).pathname;

describe('the npm package', function () {
  this.timeout(30_000);
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

  it('points every export at a built file with type declarations (run `npm run build` first)', () => {
    for (const [subpath, target] of Object.entries(
      pkg.exports as Record<string, { types: string; default: string } | string>,
    )) {
      if (typeof target === 'string') continue;
      expect(existsSync(root + target.default), `${subpath} → ${target.default}`).to.equal(true);
      expect(existsSync(root + target.types), `${subpath} → ${target.types}`).to.equal(true);
    }
    expect(pkg.peerDependencies).to.have.property('express');
    expect(pkg.dependencies).not.to.have.property('express');
    expect(pkg.scripts.prepare).to.equal('npm run build');
  });

  it('ships what a user needs, and no tests or sources', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
    );
    const files = (packed.files as Array<{ path: string }>).map((f) => f.path);
    for (const needed of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/testing/index.js',
      'dist/example/server.js',
      'LICENSE',
      'README.md',
      'config.json',
    ]) {
      expect(files, needed).to.include(needed);
    }
    expect(
      files.filter((f) => f.startsWith('test/') || f.startsWith('lib/') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    ).to.deep.equal([]);
  });
});
