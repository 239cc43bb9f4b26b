// One request's way along its model route. Before each attempt it takes the
// first model of the route that a key this request may still use has
// allowance for (the pool skips a key whose account, or whose allowance for
// that model, is known used up: what the quota counters said, here or on
// another replica through the store), and that key. An attempt answered "this
// model is used up" (a 429 with the model counter at 0) marks the model used
// up on that key, so the next pick goes to another key for it, or to the next
// model once no key has it left: at most one call per key is spent finding
// out, and a 429 generated nothing, so moving on is always safe.
import type { PoolEntry } from '../pool/pool-entry.js';
import { rewriteModel } from '../upstream/request-model.js';
import type { NoKeyReason, SelectRequest } from '../pool/pool.js';

/** What the walk asks of the pool. */
export interface RoutePool {
  select(request: SelectRequest): PoolEntry | undefined;
  whyNone(model?: string): NoKeyReason;
}

/** A model of the route and the key to try it with. */
export interface RoutePick {
  model: string;
  entry: PoolEntry;
  /** Set when this pick leaves the model the request was on (or the route's first): the model left. */
  from?: string;
}

/** Why no model of the route can be tried now; `models` is set when every one of them is used up on every key. */
export type RouteMiss = NoKeyReason & { models?: readonly string[] };

export class RouteWalk {
  /** The model of the last pick (the one sent upstream), or undefined before the first. */
  model: string | undefined;
  /** Keys that answered otherwise than "this model is used up" (or failed): not tried again for any model. */
  private readonly spent = new Set<string>();
  /** Keys that said a model is used up, by model: not tried again for that model (whatever the pool learned). */
  private readonly usedUp = new Map<string, Set<string>>();
  /** The body as last rewritten, for the model it names: kept while attempts go with that model. */
  private rewritten: { model: string; body: Buffer } | undefined;

  constructor(
    /** The model name the client asked for. */
    readonly name: string,
    readonly models: readonly string[],
    private readonly pool: RoutePool,
    /** The request left model `from` for model `to` (the metrics count it). */
    private readonly moved: (from: string, to: string) => void = () => {},
  ) {}

  /** Attempts that count against `retry.attempts`: finding a model used up on a key is not one. */
  get attempts(): number {
    return this.spent.size;
  }

  /** The first model some usable key not yet spent has allowance for, and that key; undefined when none has. */
  next(): RoutePick | undefined {
    for (const model of this.models) {
      const entry = this.pool.select({ exclude: this.excludedFor(model), model });
      if (!entry) continue;
      const left = this.model ?? this.models[0];
      this.model = model;
      if (left === model) return { model, entry };
      this.moved(left, model);
      return { model, entry, from: left };
    }
    return undefined;
  }

  /**
   * The request body to send for the picked model: the client's bytes with only the value of the top-level `model`
   * replaced (big integers, key order, escapes and spacing pass as sent), or the body itself when the model is the
   * name asked for (or before any pick).
   */
  body(original: Buffer): Buffer {
    const { model } = this;
    if (model === undefined || model === this.name) return original;
    if (this.rewritten?.model !== model) this.rewritten = { model, body: rewriteModel(original, model) ?? original };
    return this.rewritten.body;
  }

  /** How the attempt on `key` with the picked model went: `modelUsedUp` when it said that model is used up. */
  attempted(key: string, modelUsedUp: boolean): void {
    const model = this.model;
    if (!modelUsedUp || model === undefined) {
      this.spent.add(key);
      return;
    }
    let keys = this.usedUp.get(model);
    if (!keys) {
      keys = new Set();
      this.usedUp.set(model, keys);
    }
    keys.add(key);
  }

  /**
   * Why `next()` found nothing: every model used up on every key (a 429 naming them, until the first comes back),
   * else what keeps the first model that is not used up from being tried (keys cooling, broken, refused …).
   */
  whyNone(): RouteMiss {
    let retryAt = Infinity;
    for (const model of this.models) {
      const reason = this.pool.whyNone(model);
      if (reason.kind !== 'exhausted') return reason;
      retryAt = Math.min(retryAt, reason.retryAt);
    }
    return { kind: 'exhausted', retryAt, models: this.models };
  }

  private excludedFor(model: string): ReadonlySet<string> {
    const usedUp = this.usedUp.get(model);
    if (!usedUp) return this.spent;
    const excluded = new Set(this.spent);
    for (const key of usedUp) excluded.add(key);
    return excluded;
  }
}
