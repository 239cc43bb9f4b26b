import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url).pathname;

type Target = { types: string; default: string };

describe('the npm package', function () {
  this.timeout(30_000);
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

  it('points every export, for import and require, at a built file with type declarations (run `npm run build`)', () => {
    for (const [subpath, conditions] of Object.entries(
      pkg.exports as Record<string, { import: Target; require: Target } | string>,
    )) {
      if (typeof conditions === 'string') continue;
      for (const [condition, target] of Object.entries(conditions)) {
        expect(existsSync(root + target.default), `${subpath} (${condition}) → ${target.default}`).to.equal(true);
        expect(existsSync(root + target.types), `${subpath} (${condition}) → ${target.types}`).to.equal(true);
      }
    }
    // The CommonJS copy is read as CommonJS, its declarations included, whatever the package's own type.
    expect(JSON.parse(readFileSync(`${root}dist/cjs/package.json`, 'utf8'))).to.deep.equal({ type: 'commonjs' });
    expect(pkg.peerDependencies).to.have.property('express');
    expect(pkg.dependencies).not.to.have.property('express');
    expect(pkg.scripts.prepare).to.equal('npm run build');
  });

  it('says where it comes from, so the registry page can resolve the README links', () => {
    expect(pkg.repository?.url).to.match(/^git\+https:\/\//);
    expect(pkg.homepage).to.be.a('string');
    expect(pkg.bugs?.url).to.be.a('string');
  });

  it('ships what a user needs (the CHANGELOG too), and no tests, sources or inlined sources', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
    );
    const files = (packed.files as Array<{ path: string }>).map((f) => f.path);
    for (const needed of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/cjs/lib/index.js',
      'dist/cjs/lib/index.d.ts',
      'dist/cjs/package.json',
      'dist/lib/testing/index.js',
      'dist/example/server.js',
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'config.json',
    ]) {
      expect(files, needed).to.include(needed);
    }
    expect(
      files.filter((f) => f.startsWith('test/') || f.startsWith('lib/') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    ).to.deep.equal([]);
    const inlined = files
      .filter((f) => f.endsWith('.map'))
      .filter((f) => readFileSync(root + f, 'utf8').includes('"sourcesContent"'));
    expect(inlined, 'source maps carrying their sources').to.deep.equal([]);
  });
});
