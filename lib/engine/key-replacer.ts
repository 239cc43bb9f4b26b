// Replacing the whole key list (replaceKeys, a reload of the server's keys
// file): checked in full, then applied at once, or, for a large list, checked
// and prepared in slices between requests and then applied at once.
import type { KeySpec } from '../options/options.js';
import type { MembershipChange, MembershipPlan } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { checkKeySpec, resolveKeySteps, resolveKeys } from '../options/resolve-keys.js';
import { runStepsGradually, type Steps, stepDone } from '../options/steps.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import type { KeyAdminDeps } from './key-admin.js';
import { asKeyChangeError, KeyChangeError, keyChange } from './key-change-error.js';

/** Options of `replaceKeys`. */
export interface ReplaceOptions {
  /**
   * Keep the keys added with `addKey` (or `POST /admin/keys`) that `specs` does not list: what a reload of the
   * configuration does, so it changes only the keys that came from it. Defaults to `false`: the pool becomes exactly
   * `specs`.
   */
  keepAdded?: boolean;
}

/** Labels named in one log line at most: a change of 100,000 keys is logged by its counts and its first few. */
const LOGGED_LABELS = 20;

function someLabels(labels: readonly string[]): string[] {
  if (labels.length <= LOGGED_LABELS) return [...labels];
  return [...labels.slice(0, LOGGED_LABELS), `… and ${labels.length - LOGGED_LABELS} more`];
}

function asSpec(entry: PoolEntry): KeySpec {
  return {
    key: entry.key,
    label: entry.label,
    weight: entry.weight,
    ...(entry.ownAccount ? {} : { account: entry.accountName }),
  };
}

/** The key a spec names, if it names one as a string (to be checked properly later). */
function keyOf(spec: unknown): unknown {
  return typeof spec === 'object' && spec !== null ? (spec as { key?: unknown }).key : spec;
}

/** Indexes `keys` in the scrubber, in steps, noting in `indexed` those it did not know. */
function* indexSteps(keys: readonly string[], scrubber: KeyScrubber, indexed: string[]): Steps<void> {
  for (let index = 0; index < keys.length; index++) {
    if (!scrubber.has(keys[index])) {
      scrubber.add(keys[index]);
      indexed.push(keys[index]);
    }
    if (stepDone(index)) yield;
  }
}

export class KeyReplacer {
  private replacing: Promise<unknown> = Promise.resolve();

  /** `added`: the keys added at runtime, shared with KeyAdmin; a replacement updates it. */
  constructor(
    private readonly deps: Pick<KeyAdminDeps, 'pool' | 'scrubber' | 'logger' | 'keyFormat' | 'maxKeys' | 'signals'>,
    private readonly added: Set<string>,
  ) {}

  /**
   * Makes the pool exactly `specs` (and, with `keepAdded`, the keys added at
   * runtime): keys present before and after keep their state, counts and label
   * (unless a new label is given); new ones are added, missing ones removed.
   * Everything is checked first: a bad spec throws and changes nothing.
   */
  replace(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions = {}): MembershipChange {
    const { pool } = this.deps;
    const { list, kept } = this.listToReplace(specs, options);
    const resolved = keyChange(() => resolveKeys(list, this.rules(), (key) => pool.get(key)?.label));
    return this.applied(
      keyChange(() => pool.replace(resolved)),
      kept,
    );
  }

  /**
   * `replace` for large pools, without holding the event loop: each key is
   * checked, and a new one indexed by the scrubber (harmless before it takes
   * traffic), the list resolved and the new pool planned, all in slices of a
   * few milliseconds between other work; then the pool changes at once (a few
   * assignments). A plan made stale by another change meanwhile is made again.
   * Calls run one after another.
   */
  replaceGradually(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions = {}): Promise<MembershipChange> {
    const run = this.replacing.then(() =>
      this.replaceInSlices(specs, options).catch((error: unknown) => Promise.reject(asKeyChangeError(error))),
    );
    this.replacing = run.catch(() => undefined);
    return run;
  }

  private async replaceInSlices(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions) {
    const { scrubber, pool } = this.deps;
    if (!Array.isArray(specs)) return this.replace(specs, options);
    const indexed: string[] = [];
    let joined = false;
    try {
      const fresh = await runStepsGradually(this.newKeySteps(specs));
      scrubber.reserve(fresh);
      await runStepsGradually(indexSteps(fresh, scrubber, indexed));
      for (let attempt = 0; attempt < 3; attempt++) {
        const { list, kept } = this.listToReplace(specs, options);
        const resolved = await runStepsGradually(resolveKeySteps(list, this.rules(), (key) => pool.get(key)?.label));
        const plan = await runStepsGradually(pool.planReplace(resolved));
        if (pool.commit(plan) === false) continue;
        joined = true;
        return this.applied(plan, kept);
      }
      // The pool changed under every plan: done at once.
      const change = this.replace(specs, options);
      joined = true;
      return change;
    } finally {
      // A refused change leaves nothing behind: keys indexed for it are forgotten again.
      if (!joined) for (const key of indexed) if (!pool.hasKey(key)) scrubber.remove(key);
    }
  }

  /** The keys of `specs`, each checked on its own, that the scrubber does not know yet. */
  private *newKeySteps(specs: readonly unknown[]): Steps<string[]> {
    const fresh: string[] = [];
    for (let index = 0; index < specs.length; index++) {
      const { key } = checkKeySpec(specs[index], index, this.deps.keyFormat);
      if (!this.deps.scrubber.has(key)) fresh.push(key);
      if (stepDone(index)) yield;
    }
    return fresh;
  }

  private rules() {
    return { format: this.deps.keyFormat, maxKeys: this.deps.maxKeys };
  }

  /** `specs`, and with `keepAdded` the keys added at runtime that it does not list (as they are now). */
  private listToReplace(specs: ReadonlyArray<string | KeySpec>, options: ReplaceOptions) {
    const { pool, maxKeys } = this.deps;
    const kept: KeySpec[] = [];
    if (!Array.isArray(specs)) return { list: specs, kept };
    if (options.keepAdded && this.added.size > 0) {
      const listed = new Set(specs.map(keyOf));
      for (const key of this.added) {
        const entry = pool.get(key);
        if (entry && !listed.has(key)) kept.push(asSpec(entry));
      }
    }
    if (specs.length + kept.length > maxKeys) {
      const stay = kept.length > 0 ? `, and ${kept.length} more added at runtime stay` : '';
      throw new KeyChangeError(
        'ERR_MSB_KEY_LIMIT',
        'keys',
        `holds ${specs.length} keys${stay}: maxKeys allows ${maxKeys}. Raise maxKeys (max_keys), or remove keys.`,
      );
    }
    return { list: kept.length === 0 ? specs : [...specs, ...kept], kept };
  }

  /** After a replacement: new keys scrubbed, runtime additions updated, old series dropped, one log line. */
  private applied(plan: MembershipPlan, kept: readonly KeySpec[]): MembershipChange {
    const { change } = plan;
    for (const entry of plan.joining) this.deps.scrubber.add(entry.key);
    const stillAdded = new Set(kept.map((spec) => spec.key));
    for (const key of this.added) if (!stillAdded.has(key)) this.added.delete(key);
    for (const label of change.removed) this.deps.signals.emit('removed', label);
    this.deps.logger.info(
      { added: someLabels(change.added), removed: someLabels(change.removed), kept: change.kept.length },
      `keys replaced: ${change.added.length} added, ${change.removed.length} removed, ${change.kept.length} kept`,
    );
    return change;
  }
}
