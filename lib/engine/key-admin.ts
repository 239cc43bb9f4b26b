// Keys changed while the balancer runs: add, remove, hold, release, replace
// (key-replacer.ts), probe now. Each change is checked in full first (a
// BalanceConfigError that never quotes a key), then applied at once, and
// logged by label. An addKey checks the new key against indexes of the pool
// (no pass over every key), so it costs the same with 5 keys as with 50,000.
import { BalanceConfigError } from '../options/errors.js';
import type { BalancerContext } from './context.js';
import type { ProbeResult } from '../upstream/health-checker.js';
import type { KeySpec } from '../options/options.js';
import type { MembershipChange } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { maskKey, namesHoldingPieces } from '../options/key-label.js';
import { fail } from '../options/option-checks.js';
import { checkKeySpec, type ResolvedKey } from '../options/resolve-keys.js';
import { KeyReplacer, type ReplaceOptions } from './key-replacer.js';
import { shownStatus } from '../pool/pool-entry.js';

/** The result of `checkKey()`: the probe's answer and the state it left. */
export interface KeyCheck {
  label: string;
  result: ProbeResult;
  state: string;
}

export class KeyAdmin {
  /** Keys added at runtime and not listed by a replace since: what `replaceKeys(…, { keepAdded: true })` keeps. */
  private readonly added = new Set<string>();
  private readonly replacer: KeyReplacer;

  constructor(
    private readonly ctx: BalancerContext,
    private readonly probe: (entry: PoolEntry) => Promise<ProbeResult>,
  ) {
    this.replacer = new KeyReplacer(ctx, this.added);
  }

  /** Adds a key; returns its label. A duplicate or malformed key throws a BalanceConfigError, changing nothing. */
  add(spec: string | KeySpec): string {
    const { pool, config, scrubber } = this.ctx;
    const checked = checkKeySpec(spec, -1, config.keyFormat);
    if (pool.hasKey(checked.key)) {
      throw new BalanceConfigError(
        'ERR_MSB_KEY_EXISTS',
        'key',
        'is already in the pool; remove it first to change its settings.',
      );
    }
    if (pool.entries.length >= config.maxKeys) {
      fail(
        'key',
        `cannot be added: the pool holds maxKeys (${config.maxKeys}) keys already. Remove one first, or raise ` +
          'maxKeys (max_keys).',
        'ERR_MSB_KEYS',
      );
    }
    if (checked.label !== undefined && pool.find(checked.label))
      fail('label', "repeats another key's label; labels must be unique.");
    for (const field of ['label', 'account'] as const) {
      const name = checked[field];
      if (name === undefined) continue;
      if (scrubber.holdsPiece(name) || namesHoldingPieces([name], [checked.key]).size > 0)
        fail(
          field,
          `contains part of a key; ${field === 'label' ? 'a label' : 'an account name'} is shown, so choose a name.`,
        );
    }
    let label = checked.label ?? maskKey(checked.key);
    for (let n = 2; checked.label === undefined && pool.find(label); n++) label = `${maskKey(checked.key)}#${n}`;
    const resolved: ResolvedKey = {
      key: checked.key,
      label,
      weight: checked.weight,
      account: checked.account ?? `key:${label}`,
      ownAccount: checked.account === undefined,
    };
    pool.add(resolved);
    scrubber.add(resolved.key);
    this.added.add(resolved.key);
    this.ctx.logger.info({ key: label }, `key ${label} added`);
    return label;
  }

  /**
   * Removes a key: no new request uses it; requests and streams under way on
   * it finish, and then the scrubber forgets it.
   */
  remove(label: string): boolean {
    const entry = this.ctx.pool.find(label);
    if (!entry) return false;
    this.ctx.pool.remove(entry);
    this.added.delete(entry.key);
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

  /** Makes the pool exactly `specs` (see KeyReplacer.replace). */
  replace(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions = {}): MembershipChange {
    return this.replacer.replace(specs, options);
  }

  /** `replace` in slices between other work (see KeyReplacer.replaceGradually). */
  replaceGradually(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions = {}): Promise<MembershipChange> {
    return this.replacer.replaceGradually(specs, options);
  }

  /** Probes one key now and applies the result; undefined when the label is unknown. */
  async check(label: string): Promise<KeyCheck | undefined> {
    const entry = this.ctx.pool.find(label);
    if (!entry) return undefined;
    const result = await this.probe(entry);
    return { label, result, state: shownStatus(entry, this.ctx.pool.now()) };
  }
}
