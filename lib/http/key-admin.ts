// Keys changed while the balancer runs: add, remove, hold, release, replace,
// probe now. Each change is checked like the options (a BalanceConfigError
// that never quotes a key), applied to the pool, and logged once by label.
import { BalanceConfigError } from '../options/errors.js';
import type { BalancerContext } from './context.js';
import type { ProbeResult } from '../upstream/health-checker.js';
import type { KeySpec } from '../options/options.js';
import type { MembershipChange } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { resolveKeys, type ResolvedKey } from '../options/resolve-keys.js';
import { shownStatus } from '../pool/pool-entry.js';

/** The result of `checkKey()`: the probe's answer and the state it left. */
export interface KeyCheck {
  label: string;
  result: ProbeResult;
  state: string;
}

function asSpec(entry: PoolEntry): KeySpec {
  return {
    key: entry.key,
    label: entry.label,
    weight: entry.weight,
    ...(entry.ownAccount ? {} : { account: entry.accountName }),
  };
}

function explicitLabel(spec: unknown): boolean {
  return typeof spec === 'object' && spec !== null && (spec as KeySpec).label !== undefined;
}

export class KeyAdmin {
  constructor(
    private readonly ctx: BalancerContext,
    private readonly probe: (entry: PoolEntry) => Promise<ProbeResult>,
  ) {}

  /** Adds a key; returns its label. A duplicate or malformed key throws a BalanceConfigError. */
  add(spec: string | KeySpec): string {
    const key = typeof spec === 'string' ? spec : spec?.key;
    if (typeof key === 'string' && this.ctx.pool.hasKey(key)) {
      throw new BalanceConfigError(
        'ERR_MSB_KEY_EXISTS',
        'key',
        'is already in the pool; remove it first to change its settings.',
      );
    }
    const resolved = this.resolve([...this.ctx.pool.entries.map(asSpec), spec]);
    const added = resolved[resolved.length - 1];
    this.ctx.scrubber.add(added.key);
    this.ctx.pool.add(added);
    this.ctx.logger.info({ key: added.label }, `key ${added.label} added`);
    return added.label;
  }

  /** Removes a key: no new request uses it; requests and streams under way on it finish. */
  remove(label: string): boolean {
    const entry = this.ctx.pool.find(label);
    if (!entry) return false;
    this.ctx.pool.remove(entry);
    this.ctx.metrics.forgetKey(label);
    this.ctx.logger.info({ key: label }, `key ${label} removed`);
    return true;
  }

  /** Holds (`true`) or releases a key: a held key takes no traffic and no probes, shown as `disabled`. */
  hold(label: string, held: boolean): boolean {
    const entry = this.ctx.pool.find(label);
    if (!entry) return false;
    if (entry.state.held !== held) {
      entry.state.held = held;
      this.ctx.shared.holdChanged(entry);
      this.ctx.logger.info(
        { key: label, disabled: held },
        held ? `key ${label} disabled by the operator` : `key ${label} enabled by the operator`,
      );
    }
    return true;
  }

  /**
   * Makes the pool exactly `specs`: keys present before and after keep their
   * state, counts and label (unless a new label is given); new ones are added,
   * missing ones removed. Throws (changing nothing) when any spec is bad.
   */
  replace(specs: ReadonlyArray<string | KeySpec>): MembershipChange {
    const resolved = this.resolve(specs);
    for (const spec of resolved) this.ctx.scrubber.add(spec.key);
    const change = this.ctx.pool.replace(resolved);
    for (const label of change.removed) this.ctx.metrics.forgetKey(label);
    this.ctx.logger.info(
      { added: change.added, removed: change.removed, kept: change.kept.length },
      `keys replaced: ${change.added.length} added, ${change.removed.length} removed, ${change.kept.length} kept`,
    );
    return change;
  }

  /** Probes one key now and applies the result; undefined when the label is unknown. */
  async check(label: string): Promise<KeyCheck | undefined> {
    const entry = this.ctx.pool.find(label);
    if (!entry) return undefined;
    const result = await this.probe(entry);
    return { label, result, state: shownStatus(entry, this.ctx.pool.now()) };
  }

  /** Checks a full key list as the options are checked, keeping the labels keys already have. */
  private resolve(specs: ReadonlyArray<unknown>): ResolvedKey[] {
    const resolved = resolveKeys(specs);
    const taken = new Set<string>();
    const byKey = new Map(this.ctx.pool.entries.map((entry) => [entry.key, entry]));
    return resolved.map((spec, index) => {
      const current = byKey.get(spec.key);
      let label = current && !explicitLabel(specs[index]) ? current.label : spec.label;
      for (let n = 2; taken.has(label); n++) label = `${spec.label}#${n}`;
      taken.add(label);
      const account = spec.ownAccount ? `key:${label}` : spec.account;
      return { ...spec, label, account };
    });
  }
}
