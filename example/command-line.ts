import { closestName } from '../lib/options/errors.js';
import { schema } from './config-schema.js';

/** A flag that stops start-up (exit 2); the message says which and what was meant. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Older spellings kept working besides `--name` and `--name-with-dashes`. */
const ALIASES: Record<string, string> = { port: 'server_port' };

/** Every spelling of every flag, each mapped to the setting's own name (which convict reads as `--<name>`). */
function spellings(): Map<string, string> {
  const names = new Map<string, string>([['config', 'config']]);
  for (const [name, item] of Object.entries(schema) as Array<[string, { arg?: string }]>) {
    for (const spelling of [name, item.arg ?? name]) {
      names.set(spelling, name);
      names.set(spelling.replace(/_/g, '-'), name);
      names.set(spelling.replace(/-/g, '_'), name);
    }
  }
  for (const [alias, name] of Object.entries(ALIASES)) names.set(alias, name);
  return names;
}

/**
 * The command line with every flag in the one spelling convict reads (`--server_port 9000`): `--server-port`,
 * `--server_port`, `--port` and `--name=value` forms are all accepted. A flag that names no setting, or an argument
 * that is no flag's value, is refused with the closest flag: `--server_prot 9000` must not start a server on 8080.
 */
export function normalizeFlags(args: readonly string[]): string[] {
  const known = spellings();
  const normalized: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const match = /^--([^=]+)(=.*)?$/s.exec(arg);
    // The argument itself is never quoted: it may be a token pasted in the wrong place.
    if (!match) {
      throw new FlagError(
        `argument ${i + 1} is neither a flag nor a flag's value: every setting is given as --name value (see the ` +
          'README)',
      );
    }
    const name = known.get(match[1]);
    if (!name) {
      const shown = /^[a-z_-]{1,40}$/i.test(match[1]) ? `--${match[1]}` : `the flag at argument ${i + 1}`;
      const guess = closestName(match[1], [...known.keys()]);
      throw new FlagError(
        `${shown} is not a known flag${guess ? ` (did you mean --${guess.replace(/_/g, '-')}?)` : ''}; every ` +
          'setting is accepted as --name_with_underscores or --name-with-dashes',
      );
    }
    if (match[2] !== undefined) {
      normalized.push(`--${name}${match[2]}`);
      continue;
    }
    normalized.push(`--${name}`);
    // The next argument is this flag's value unless it is another flag (a bare boolean flag means true).
    if (i + 1 < args.length && !args[i + 1].startsWith('--')) normalized.push(args[++i]);
  }
  return normalized;
}
