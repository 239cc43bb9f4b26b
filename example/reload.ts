import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import type { Balancer } from '../lib/index.js';
import type { Settings } from './config-schema.js';
import { loadSettings } from './load-settings.js';

/** Labels named in the reload's log line at most; the counts say the rest. */
const LOGGED_LABELS = 20;

function someLabels(labels: readonly string[]): string[] {
  if (labels.length <= LOGGED_LABELS) return [...labels];
  return [...labels.slice(0, LOGGED_LABELS), `… and ${labels.length - LOGGED_LABELS} more`];
}

/**
 * Settings a reload can apply: the keys (and the clients, which `reloadClients` applies). Any other change is named
 * as needing a restart.
 */
const RELOADABLE = new Set(['api_keys', 'api_keys_file', 'clients']);

/**
 * Re-reads the config file, the keys file and the environment, and applies
 * the keys with `replaceKeys`: kept keys keep their state, requests in flight
 * finish, and keys added over the admin API stay (a reload changes only the
 * keys that came from the configuration). A file that is empty, or has a line
 * that is not a key, is refused whole with one warning naming the line, and
 * the current keys stay. Resolves with the settings now in force.
 */
export async function reloadKeys(
  balancer: Balancer,
  current: Settings,
  logger: PinoLogger,
  load: () => Settings = () => loadSettings(),
): Promise<Settings> {
  let next: Settings;
  try {
    if (current.api_keys_file && readFileSync(current.api_keys_file, 'utf8').trim() === '') {
      throw new Error(`api_keys_file: the keys file is empty (being written?)`);
    }
    next = load();
    // In slices between requests: a file of 100,000 keys must not stop the server while it is applied.
    const change = await balancer.replaceKeysGradually(next.api_keys, { keepAdded: true });
    const restartNeeded = Object.keys(next).filter(
      (name) =>
        !RELOADABLE.has(name) &&
        JSON.stringify(next[name as keyof Settings]) !== JSON.stringify(current[name as keyof Settings]),
    );
    logger.info(
      {
        added: someLabels(change.added),
        removed: someLabels(change.removed),
        kept: change.kept.length,
        restart_needed: restartNeeded,
      },
      `keys reloaded: ${change.added.length} added, ${change.removed.length} removed, ${change.kept.length} kept` +
        (restartNeeded.length > 0 ? `; ${restartNeeded.join(', ')} changed and take effect only after a restart` : ''),
    );
    return {
      ...next,
      ...Object.fromEntries(restartNeeded.map((name) => [name, current[name as keyof Settings]])),
    } as Settings;
  } catch (error) {
    logger.warn({}, `reload refused, the current keys stay: ${(error as Error).message}`);
    return current;
  }
}

/** How the keys file is watched; the defaults suit production. */
export interface WatchOptions {
  /** Wait for writes to settle before `onChange`. Defaults to 250 ms. */
  debounceMs?: number;
  /** How often the folder is checked for being gone or replaced by a new one. Defaults to 1 000 ms. */
  checkMs?: number;
  /** The folder is gone: changes are not seen until it is back. */
  onLost?(): void;
}

/**
 * Calls `onChange` when the keys file changes, once the writes have settled
 * (debounced). The folder is watched, not the file, so a file replaced by
 * rename (editors, Kubernetes secrets) is still seen; and the folder itself is
 * checked every second, so one that is deleted and created again (a volume
 * remounted) is followed, and read again at once, instead of the watch dying
 * silently with it.
 */
export function watchKeysFile(path: string, onChange: () => void, options: WatchOptions = {}): () => void {
  const { debounceMs = 250, checkMs = 1_000 } = options;
  const folder = dirname(path);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let watched: number | undefined;
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const folderNow = (): number | undefined => {
    try {
      return statSync(folder).ino;
    } catch {
      return undefined;
    }
  };
  const follow = () => {
    const now = folderNow();
    if (watcher && now === watched) return;
    if (watcher) {
      watcher.close();
      watcher = undefined;
      if (now === undefined) options.onLost?.();
    }
    if (now === undefined) return;
    try {
      watcher = watch(folder, (_event, changed) => {
        if (changed === null || changed === name || String(changed).startsWith('..')) settle();
        // The folder itself renamed or deleted (its own name is reported): see at once whether it is still there.
        else if (changed === basename(folder)) follow();
      });
      watcher.on('error', follow);
      watcher.unref();
      // A folder that came back may hold a new file: read it.
      if (watched !== undefined) settle();
      watched = now;
    } catch {
      watcher = undefined;
    }
  };
  follow();
  const check = setInterval(follow, checkMs);
  check.unref();
  return () => {
    clearTimeout(timer);
    clearInterval(check);
    watcher?.close();
  };
}
