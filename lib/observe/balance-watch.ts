// Starts the balance probe when `quota.balanceUrl` is set and feeds what it
// reads to the pool. A probe that fails says so once per key and kind of
// failure (and once more when it works again), not every round.
import type { KeyPool } from '../pool/pool.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import { BalanceProbe } from '../upstream/balance-probe.js';

export function startBalanceProbe(config: ResolvedConfig, pool: KeyPool): BalanceProbe | undefined {
  const url = config.quota.balanceUrl;
  if (!url) return undefined;
  const { logger } = config;
  /** The last problem of each key (by its label: the secret is not needed to remember a failure). */
  const problems = new Map<string, string>();
  const probe = new BalanceProbe({
    pool,
    url,
    intervalMs: config.quota.balanceIntervalMs,
    onResult(probed, result) {
      // The key may have left the pool (or been replaced) while its probe was under way.
      const entry = pool.get(probed.key);
      if (!entry) return;
      const before = problems.get(entry.label);
      if (result.ok) {
        if (before) {
          problems.delete(entry.label);
          logger.info({ key: entry.label }, `the balance of key ${entry.label} can be read again`);
        }
        pool.balanceRead(entry, result.reading);
        return;
      }
      if (before === result.problem) return;
      problems.set(entry.label, result.problem);
      logger.warn(
        { key: entry.label, problem: result.problem },
        `the balance of key ${entry.label} could not be read (${result.problem}); its last figures stand`,
      );
    },
  });
  probe.start();
  return probe;
}
