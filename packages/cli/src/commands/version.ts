import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';

const command: Command = {
  summary: 'print the version',
  usage: 'swarmcast version',
  async run(_argv, io) {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
    io.stdout.write(`swarmcast ${pkg.version}\n`);
    return 0;
  },
};
export default command;
