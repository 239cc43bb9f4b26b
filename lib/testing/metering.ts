// What the imitation counts per key: daily request figures of the account and
// of each model (reported as ModelScope's counters, unless counters are
// switched off) and points with a per-model cost, refused as ModelScope
// reportedly refuses a used-up balance.
import type { ServerResponse } from 'node:http';
import type { FakeBalance, FakeCounter, FakePoints, FakeQuota } from './behaviours.js';
import { BALANCE_EXHAUSTED_BODY, json, LIMIT_BODY } from './bodies.js';

type Points = Required<Omit<FakePoints, 'left' | 'costs'>> & { left: number; costs: Record<string, number> };

/** A daily counter: its limit, and what is left today. */
type Counter = Required<FakeCounter>;

export class Metering {
  /** The account's daily figures, by key. */
  private readonly quotas = new Map<string, Counter>();
  /** Each model's daily figures, by key, then model. */
  private readonly modelQuotas = new Map<string, Map<string, Counter>>();
  private readonly points = new Map<string, Points>();
  private readonly balances = new Map<string, FakeBalance>();

  /** `counters`: whether answers carry ModelScope's `modelscope-ratelimit-*` headers. */
  constructor(readonly counters: boolean) {}

  setQuota(key: string, figures: FakeQuota): void {
    this.quotas.set(key, { limit: figures.limit, remaining: figures.remaining });
    this.modelQuotas.delete(key);
    for (const [model, counter] of Object.entries(figures.models ?? {})) this.setModelQuota(key, model, counter);
  }

  /** One model's daily figures for `key`; `remaining` defaults to `limit`. Other models and the account keep theirs. */
  setModelQuota(key: string, model: string, counter: FakeCounter): void {
    let models = this.modelQuotas.get(key);
    if (!models) {
      models = new Map();
      this.modelQuotas.set(key, models);
    }
    models.set(model, { limit: counter.limit, remaining: counter.remaining ?? counter.limit });
  }

  /** Calls of `model` left today for `key`, or undefined when that model is not counted for it. */
  modelQuotaLeft(key: string, model: string): number | undefined {
    return this.modelQuotas.get(key)?.get(model)?.remaining;
  }

  /** Calls left today for `key`'s account, or undefined when it is not counted. */
  quotaLeft(key: string): number | undefined {
    return this.quotas.get(key)?.remaining;
  }

  setPoints(key: string, points: FakePoints): void {
    this.points.set(key, {
      daily: points.daily,
      left: points.left ?? points.daily,
      costs: { ...points.costs },
      defaultCost: points.defaultCost ?? 1,
      whenEmpty: points.whenEmpty ?? 'balance-403',
    });
  }

  setBalance(key: string, balance: FakeBalance): void {
    this.balances.set(key, { ...balance });
  }

  /** Points left for `key`, or undefined when it is not metered in points. */
  pointsLeft(key: string): number | undefined {
    return this.points.get(key)?.left;
  }

  /** What the balance endpoint answers for `key`: its points when metered, else what `setBalance` gave. */
  balanceOf(key: string): FakeBalance | undefined {
    const points = this.points.get(key);
    if (points) return { total: points.daily, available: points.left, frozen: 0 };
    return this.balances.get(key);
  }

  /** A new day: every quota and points balance is full again. */
  newDay(): void {
    for (const quota of this.quotas.values()) quota.remaining = quota.limit;
    for (const models of this.modelQuotas.values()) for (const quota of models.values()) quota.remaining = quota.limit;
    for (const points of this.points.values()) points.left = points.daily;
  }

  clear(): void {
    this.quotas.clear();
    this.modelQuotas.clear();
    this.points.clear();
    this.balances.clear();
  }

  /**
   * Spends a call of `model` with `key`: the headers to answer with, or null when the call was refused here (and
   * answered).
   */
  spend(key: string, model: string | undefined, res: ServerResponse): Record<string, string> | null {
    const headers = this.spendQuota(key, model, res);
    if (headers === null) return null;
    const points = this.points.get(key);
    if (!points) return headers;
    const cost = (model !== undefined ? points.costs[model] : undefined) ?? points.defaultCost;
    if (points.left < cost) {
      if (points.whenEmpty === 'plain-429') json(res, 429, LIMIT_BODY);
      else json(res, 403, BALANCE_EXHAUSTED_BODY);
      return null;
    }
    points.left -= cost;
    return headers;
  }

  private spendQuota(key: string, model: string | undefined, res: ServerResponse): Record<string, string> | null {
    const quota = this.quotas.get(key);
    const modelQuota = model === undefined ? undefined : this.modelQuotas.get(key)?.get(model);
    if (!quota && !modelQuota) return {};
    const headers = (): Record<string, string> => {
      if (!this.counters) return {};
      const figures: Record<string, string> = {};
      if (quota) {
        figures['modelscope-ratelimit-requests-limit'] = String(quota.limit);
        figures['modelscope-ratelimit-requests-remaining'] = String(quota.remaining);
      }
      if (modelQuota) {
        figures['modelscope-ratelimit-model-requests-limit'] = String(modelQuota.limit);
        figures['modelscope-ratelimit-model-requests-remaining'] = String(modelQuota.remaining);
      }
      return figures;
    };
    if ((quota && quota.remaining <= 0) || (modelQuota && modelQuota.remaining <= 0)) {
      json(res, 429, LIMIT_BODY, headers());
      return null;
    }
    if (quota) quota.remaining--;
    if (modelQuota) modelQuota.remaining--;
    return headers();
  }
}
