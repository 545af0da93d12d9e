import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * packages/cli/bin/swarmcast.js (what `npx swarmcast` runs) uses the build while it is current
 * and the sources through tsx otherwise. Here in a copy of the layout whose build and sources
 * are stand-ins that say which one ran.
 */
describe('the swarmcast bin', () => {
  const repo = join(import.meta.dirname, '..', '..', '..');
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const source = () => join(dir.path, 'packages', 'cli', 'src', 'main.ts');
  const run = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      [join(dir.path, 'packages', 'cli', 'bin', 'swarmcast.js'), ...args],
      {
        encoding: 'utf8',
      },
    );
    return { status: r.status, out: r.stdout.trim(), err: r.stderr };
  };
  const build = (builtAt: number) =>
    writeFileSync(
      join(dir.path, 'dist', 'sources.json'),
      JSON.stringify({ builtAt, sources: ['packages/cli/src/main.ts'] }),
    );

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-bin-');
    mkdirSync(join(dir.path, 'packages', 'cli', 'bin'), { recursive: true });
    mkdirSync(join(dir.path, 'packages', 'cli', 'src'));
    mkdirSync(join(dir.path, 'dist'));
    copyFileSync(
      join(repo, 'packages', 'cli', 'bin', 'swarmcast.js'),
      join(dir.path, 'packages', 'cli', 'bin', 'swarmcast.js'),
    );
    writeFileSync(join(dir.path, 'package.json'), '{"type":"module"}');
    symlinkSync(join(repo, 'node_modules'), join(dir.path, 'node_modules'));
    const says = (what: string) =>
      `if (import.meta.url === 'file://' + process.argv[1]) { console.log('${what} ' + process.argv.slice(2).join(' ')); process.exitCode = 3; }\n`;
    writeFileSync(source(), says('sources'));
    writeFileSync(join(dir.path, 'dist', 'swarmcast.mjs'), says('built'));
  });
  afterAll(async () => dir?.remove());

  it('runs the build in its own process while no source is newer, with the arguments and exit code', () => {
    utimesSync(source(), new Date(1000), new Date(1000));
    build(Date.now());
    expect(run('create', '--help')).toMatchObject({ status: 3, out: 'built create --help' });
  });

  it('runs the sources through tsx when a source changed after the build', () => {
    build(Date.now() - 60_000);
    utimesSync(source(), new Date(), new Date());
    expect(run('version')).toMatchObject({ status: 3, out: 'sources version' });
  });

  it('runs the sources when there is no build, or a listed source is gone', () => {
    rmSync(join(dir.path, 'dist', 'sources.json'));
    expect(run('version')).toMatchObject({ status: 3, out: 'sources version' });
    writeFileSync(
      join(dir.path, 'dist', 'sources.json'),
      JSON.stringify({ builtAt: Date.now() + 60_000, sources: ['packages/cli/src/gone.ts'] }),
    );
    expect(run('version')).toMatchObject({ status: 3, out: 'sources version' });
  });
});
