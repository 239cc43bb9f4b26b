// Keys changed while the balancer runs: add, remove, disable, enable, replace
// (key-replacer.ts), probe now. Each change is checked in full first (a
// KeyChangeError that never quotes a key), then applied at once, and logged
// by label. An addKey checks the new key against indexes of the pool (no
// pass over every key), so it costs the same with 5 keys as with 50,000.
import type { KeyFormat } from '../options/key-format.js';
import { maskKey, namesHoldingPieces } from '../options/key-label.js';
import type { KeySpec } from '../options/options.js';
import { checkKeySpec, type ResolvedKey } from '../options/resolve-keys.js';
import type { Logger } from '../observe/logger.js';
import type { KeyPool, MembershipChange } from '../pool/pool.js';
import { type PoolEntry, shownStatus } from '../pool/pool-entry.js';
import type { ProbeResult } from '../upstream/health-checker.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import type { BalancerEvents, Emitter } from './events.js';
import { KeyChangeError, keyChange } from './key-change-error.js';
import { KeyReplacer, type ReplaceOptions } from './key-replacer.js';
import type { EngineSignals } from './signals.js';

/** The result of `checkKey()`: the probe's answer and the state it left. */
export interface KeyCheck {
  label: string;
  result: ProbeResult;
  state: string;
}

export interface KeyAdminDeps {
  pool: KeyPool;
  scrubber: KeyScrubber;
  logger: Logger;
  keyFormat: KeyFormat;
  maxKeys: number;
  events: Emitter<BalancerEvents>;
  signals: Emitter<EngineSignals>;
  /** Probes one key now and applies the result. */
  probe(entry: PoolEntry): Promise<ProbeResult>;
}

export class KeyAdmin {
  /** Keys added at runtime and not listed by a replace since: what `replaceKeys(…, { keepAdded: true })` keeps. */
  private readonly added = new Set<string>();
  private readonly replacer: KeyReplacer;

  constructor(private readonly deps: KeyAdminDeps) {
    this.replacer = new KeyReplacer(deps, this.added);
  }

  /** Adds a key; returns its label. A duplicate or malformed key throws a KeyChangeError, changing nothing. */
  add(spec: string | KeySpec): string {
    const { pool, scrubber, maxKeys } = this.deps;
    const checked = keyChange(() => checkKeySpec(spec, -1, this.deps.keyFormat));
    if (pool.hasKey(checked.key))
      throw new KeyChangeError(
        'ERR_MSB_KEY_EXISTS',
        'key',
        'is already in the pool; remove it first to change its settings.',
      );
    if (pool.entries.length >= maxKeys) {
      throw new KeyChangeError(
        'ERR_MSB_KEY_LIMIT',
        'key',
        `cannot be added: the pool holds maxKeys (${maxKeys}) keys already. Remove one first, or raise maxKeys ` +
          '(max_keys).',
      );
    }
    if (checked.label !== undefined && pool.find(checked.label))
      throw new KeyChangeError('ERR_MSB_LABEL_TAKEN', 'label', "repeats another key's label; labels must be unique.");
    for (const field of ['label', 'account'] as const) {
      const name = checked[field];
      if (name === undefined) continue;
      if (scrubber.holdsPiece(name) || namesHoldingPieces([name], [checked.key]).size > 0) {
        const shown = field === 'label' ? 'a label' : 'an account name';
        throw new KeyChangeError(
          'ERR_MSB_KEY_INVALID',
          field,
          `contains part of a key; ${shown} is shown, so choose a name.`,
        );
      }
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
    keyChange(() => pool.add(resolved));
    scrubber.add(resolved.key);
    this.added.add(resolved.key);
    this.deps.logger.info({ key: label }, `key ${label} added`);
    return label;
  }

  /**
   * Removes a key: no new request uses it; requests and streams under way on
   * it finish, and then the scrubber forgets it.
   */
  remove(label: string): boolean {
    const { pool, signals, logger } = this.deps;
    const entry = pool.find(label);
    if (!entry) return false;
    pool.remove(entry);
    this.added.delete(entry.key);
    signals.emit('removed', label);
    logger.info({ key: label }, `key ${label} removed`);
    return true;
  }

  /** Disables a key: no traffic and no probes until `enable`, shown as `disabled`; fleet-wide with a shared store. */
  disable(label: string): boolean {
    return this.setDisabled(label, true);
  }

  /** Enables a disabled key. */
  enable(label: string): boolean {
    return this.setDisabled(label, false);
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
    const entry = this.deps.pool.find(label);
    if (!entry) return undefined;
    const result = await this.deps.probe(entry);
    return { label, result, state: shownStatus(entry, this.deps.pool.now()) };
  }

  private setDisabled(label: string, disabled: boolean): boolean {
    const { pool, events, signals } = this.deps;
    const entry = pool.find(label);
    if (!entry) return false;
    const from = shownStatus(entry, pool.now());
    if (!pool.setDisabled(entry, disabled)) return true;
    signals.emit('disabledChanged', entry);
    if (events.listening('keyState'))
      events.emit('keyState', { key: label, from, to: shownStatus(entry, pool.now()), reason: 'operator' });
    return true;
  }
}
