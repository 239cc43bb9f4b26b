import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import type { Balancer } from '../lib/index.js';
import type { Settings } from './config-schema.js';
import { loadSettings } from './load-settings.js';
import { addLoggerSecrets } from './logger.js';

/** Settings a reload can apply: the keys. Any other change is named as needing a restart. */
const RELOADABLE = new Set(['api_keys', 'api_keys_file']);

/**
 * Re-reads the config file, the keys file and the environment, and applies
 * the keys with `replaceKeys`: kept keys keep their state, requests in flight
 * finish. A file that is empty or does not load is refused with a warning, and
 * the current keys stay. Returns the settings now in force.
 */
export function reloadKeys(
  balancer: Balancer,
  current: Settings,
  logger: PinoLogger,
  load: () => Settings = () => loadSettings(),
): Settings {
  let next: Settings;
  try {
    if (current.api_keys_file && readFileSync(current.api_keys_file, 'utf8').trim() === '') {
      throw new Error(`api_keys_file: the keys file is empty (being written?)`);
    }
    next = load();
    addLoggerSecrets(logger, next.api_keys);
    const change = balancer.replaceKeys(next.api_keys);
    const restartNeeded = Object.keys(next).filter(
      (name) =>
        !RELOADABLE.has(name) &&
        JSON.stringify(next[name as keyof Settings]) !== JSON.stringify(current[name as keyof Settings]),
    );
    logger.info(
      { added: change.added, removed: change.removed, kept: change.kept, restart_needed: restartNeeded },
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

/**
 * Calls `onChange` when the keys file changes, once the writes have settled
 * (debounced). The folder is watched, not the file, so a file replaced by
 * rename (editors, Kubernetes secrets) is still seen.
 */
export function watchKeysFile(path: string, onChange: () => void, debounceMs = 250): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const name = basename(path);
  try {
    watcher = watch(dirname(path), (_event, changed) => {
      if (changed !== null && changed !== name && !String(changed).startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.unref();
  } catch {
    return () => undefined;
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
