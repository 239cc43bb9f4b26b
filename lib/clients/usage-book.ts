// What each client used today, in all and per model: requests served, upstream calls (attempts), and the tokens the
// answers reported. Kept per day (the day of the daily budgets), so yesterday's figures go at the reset. Models are
// what clients send: a client's list of models is bounded, the rest counted as one.

/** One model's figures of a client's day. */
export interface ModelUsage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/** A client's figures of the day. */
export interface ClientUsage {
  requests: number;
  upstreamCalls: number;
  promptTokens: number;
  completionTokens: number;
  byModel: Map<string, ModelUsage>;
}

/** One request's contribution, recorded when it ends. */
export interface RequestUsage {
  /** The model the client asked for, when it named one. */
  model?: string;
  /** Upstream calls it made (0: refused before any, or no key was free). */
  upstreamCalls: number;
  promptTokens?: number;
  completionTokens?: number;
}

/** The shape of a client's figures in the state file and in answers (snake_case, as the API's JSON). */
export interface UsageRecord {
  requests: number;
  upstream_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  by_model: Record<string, { requests: number; prompt_tokens: number; completion_tokens: number }>;
}

/** Models kept apart per client; further ones are counted under OTHER_MODELS. */
export const MAX_MODELS_PER_CLIENT = 100;
export const OTHER_MODELS = '(other models)';
const MAX_MODEL_NAME = 256;

function emptyUsage(): ClientUsage {
  return { requests: 0, upstreamCalls: 0, promptTokens: 0, completionTokens: 0, byModel: new Map() };
}

export class UsageBook {
  private day = '';
  private clients = new Map<string, ClientUsage>();

  constructor(private readonly clock: { day(): string }) {}

  /** Adds one ended request: it counts as served when it made an upstream call. */
  record(client: string, request: RequestUsage): void {
    const usage = this.usageOf(client);
    const prompt = request.promptTokens ?? 0;
    const completion = request.completionTokens ?? 0;
    const served = request.upstreamCalls > 0 ? 1 : 0;
    usage.requests += served;
    usage.upstreamCalls += request.upstreamCalls;
    usage.promptTokens += prompt;
    usage.completionTokens += completion;
    if (request.model === undefined || (served === 0 && prompt + completion === 0)) return;
    const model = this.modelOf(usage, request.model);
    model.requests += served;
    model.promptTokens += prompt;
    model.completionTokens += completion;
  }

  /** `client`'s figures of today (zeros when it sent nothing). */
  figures(client: string): ClientUsage {
    this.roll();
    return this.clients.get(client) ?? emptyUsage();
  }

  /** Today's figures of every client that sent something, to keep across a restart. */
  snapshot(): { day: string; clients: Record<string, UsageRecord> } {
    this.roll();
    const clients: Record<string, UsageRecord> = {};
    for (const [name, usage] of this.clients) clients[name] = usageRecord(usage);
    return { day: this.day, clients };
  }

  /** Figures saved by `snapshot()`: taken only when they are of today; a record that is not one is skipped. */
  restore(day: string, clients: Readonly<Record<string, unknown>>): void {
    this.roll();
    if (day !== this.day) return;
    for (const [name, record] of Object.entries(clients)) {
      const usage = fromRecord(record);
      if (usage) this.clients.set(name, usage);
    }
  }

  /** Forgets a removed client's figures. */
  forget(client: string): void {
    this.clients.delete(client);
  }

  private usageOf(client: string): ClientUsage {
    this.roll();
    let usage = this.clients.get(client);
    if (!usage) this.clients.set(client, (usage = emptyUsage()));
    return usage;
  }

  private modelOf(usage: ClientUsage, name: string): ModelUsage {
    const known = usage.byModel.get(name);
    if (known) return known;
    const kept = usage.byModel.size < MAX_MODELS_PER_CLIENT && name.length <= MAX_MODEL_NAME ? name : OTHER_MODELS;
    let model = usage.byModel.get(kept);
    if (!model) usage.byModel.set(kept, (model = { requests: 0, promptTokens: 0, completionTokens: 0 }));
    return model;
  }

  private roll(): void {
    const day = this.clock.day();
    if (day === this.day) return;
    this.day = day;
    this.clients = new Map();
  }
}

/** A client's figures as JSON (snake_case). */
export function usageRecord(usage: ClientUsage): UsageRecord {
  const byModel: UsageRecord['by_model'] = {};
  for (const [name, model] of usage.byModel)
    byModel[name] = {
      requests: model.requests,
      prompt_tokens: model.promptTokens,
      completion_tokens: model.completionTokens,
    };
  return {
    requests: usage.requests,
    upstream_calls: usage.upstreamCalls,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    by_model: byModel,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecordOf(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A saved record read back, or undefined when any figure is not a count. */
function fromRecord(record: unknown): ClientUsage | undefined {
  if (!isRecordOf(record)) return undefined;
  const { requests, upstream_calls, prompt_tokens, completion_tokens, by_model } = record;
  if (![requests, upstream_calls, prompt_tokens, completion_tokens].every(isCount) || !isRecordOf(by_model))
    return undefined;
  const usage: ClientUsage = {
    requests: requests as number,
    upstreamCalls: upstream_calls as number,
    promptTokens: prompt_tokens as number,
    completionTokens: completion_tokens as number,
    byModel: new Map(),
  };
  for (const [name, model] of Object.entries(by_model).slice(0, MAX_MODELS_PER_CLIENT)) {
    if (!isRecordOf(model) || ![model.requests, model.prompt_tokens, model.completion_tokens].every(isCount)) continue;
    usage.byModel.set(name, {
      requests: model.requests as number,
      promptTokens: model.prompt_tokens as number,
      completionTokens: model.completion_tokens as number,
    });
  }
  return usage;
}
