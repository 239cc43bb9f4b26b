import { KeyPool } from '../lib/pool/pool.js';
import type { Strategy } from '../lib/options/options.js';
import { benchKeys } from './servers/common.js';

/** Nanoseconds per pick, for a pool of `size` keys, all healthy. */
export function selectionCost(size: number, strategy: Strategy, picks = 200_000): number {
  const keys = benchKeys(size).map((key, i) => ({
    key,
    label: `k${i}`,
    weight: 1 + (i % 3),
    account: `a${i}`,
    ownAccount: false,
  }));
  const pool = new KeyPool(
    keys,
    {
      strategy,
      failureThreshold: 3,
      cooldownBaseMs: 5000,
      cooldownMaxMs: 300_000,
      invalidKeyRetryMs: 1_800_000,
      resetTimeZone: 'Asia/Shanghai',
      resetMinutes: 0,
      now: Date.now,
    },
    { transition() {}, exhausted() {}, throttled() {} },
  );
  for (let i = 0; i < 10_000; i++) pool.select();
  const started = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) pool.select();
  return Number(process.hrtime.bigint() - started) / picks;
}
