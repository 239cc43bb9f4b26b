// What an upstream answer says it cost in tokens, read from its `usage`
// object in either dialect. The field names tell the dialect, so the caller
// need not: OpenAI says prompt/completion, Anthropic (and OpenAI's Responses
// API) say input/output. Figures are given OpenAI's meaning, so one client's
// prompt tokens add up the same through /v1/chat/completions and /v1/messages.

/** Tokens an answer reports, with OpenAI's meaning whichever dialect reported them. */
export interface TokenUsage {
  /**
   * Prompt tokens the model read, cached ones included: `prompt_tokens`; the Responses API's `input_tokens`; for
   * Anthropic, which counts cache reads and writes apart, `input_tokens` + `cache_creation_input_tokens` +
   * `cache_read_input_tokens`.
   */
  promptTokens: number;
  /** `completion_tokens` or `output_tokens`; 0 when only prompt tokens are reported (embeddings). */
  completionTokens: number;
  /** `total_tokens`, when the answer gives it. */
  totalTokens?: number;
  /**
   * Of the prompt tokens, those served from a cache: `prompt_tokens_details.cached_tokens`,
   * `input_tokens_details.cached_tokens` or `cache_read_input_tokens`, when given.
   */
  cachedPromptTokens?: number;
  /** Anthropic's `cache_creation_input_tokens` (prompt tokens written to its cache), when given. */
  cacheWriteTokens?: number;
  /** Of the completion tokens, reasoning ones: `completion_tokens_details.reasoning_tokens` (or `output_tokens_…`). */
  reasoningTokens?: number;
}

/** The counts read, by their field name (details as `parent.child`). */
type Counts = Partial<Record<string, number>>;

const COUNTS = [
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
];
const DETAILS: Array<[string, string]> = [
  ['prompt_tokens_details', 'cached_tokens'],
  ['input_tokens_details', 'cached_tokens'],
  ['completion_tokens_details', 'reasoning_tokens'],
  ['output_tokens_details', 'reasoning_tokens'],
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token count is a whole number, at least 0; anything else an upstream sends (`"12"`, -1, 1e400) is not one. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The `usage` object of an event or body in any of the shapes that carry one, or undefined. */
export function usageOf(parsed: unknown): unknown {
  if (!isRecord(parsed)) return undefined;
  if (isRecord(parsed.usage)) return parsed.usage;
  // Anthropic's message_start carries it in `message`; the Responses API's response.completed in `response`.
  if (isRecord(parsed.message) && isRecord(parsed.message.usage)) return parsed.message.usage;
  if (isRecord(parsed.response) && isRecord(parsed.response.usage)) return parsed.response.usage;
  return undefined;
}

/** Counts gathered from one answer's `usage` objects. */
export class UsageCounts {
  private counts: Counts = {};

  /**
   * Takes the counts of one `usage` object. A later figure replaces an earlier one field by field: OpenAI servers
   * that repeat `usage` on every chunk send running totals, and Anthropic's message_delta carries only the output
   * tokens so far (the input tokens came in message_start). Anything that is not a count is ignored.
   */
  merge(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const name of COUNTS) {
      const value = count(usage[name]);
      if (value !== undefined) this.counts[name] = value;
    }
    for (const [parent, child] of DETAILS) {
      const details = usage[parent];
      const value = isRecord(details) ? count(details[child]) : undefined;
      if (value !== undefined) this.counts[`${parent}.${child}`] = value;
    }
  }

  /** Forgets all counts taken (a JSON body's second top-level `usage` replaces the first, as JSON.parse does). */
  clear(): void {
    this.counts = {};
  }

  /** The usage in OpenAI's meaning, or undefined when no prompt or completion count was read. */
  usage(): TokenUsage | undefined {
    const c = this.counts;
    const anthropicInput =
      c.input_tokens !== undefined ||
      c.cache_creation_input_tokens !== undefined ||
      c.cache_read_input_tokens !== undefined
        ? (c.input_tokens ?? 0) + (c.cache_creation_input_tokens ?? 0) + (c.cache_read_input_tokens ?? 0)
        : undefined;
    const prompt = c.prompt_tokens ?? anthropicInput;
    const completion = c.completion_tokens ?? c.output_tokens;
    if (prompt === undefined && completion === undefined) return undefined;
    const usage: TokenUsage = { promptTokens: prompt ?? 0, completionTokens: completion ?? 0 };
    if (c.total_tokens !== undefined) usage.totalTokens = c.total_tokens;
    const cached =
      c['prompt_tokens_details.cached_tokens'] ?? c['input_tokens_details.cached_tokens'] ?? c.cache_read_input_tokens;
    if (cached !== undefined) usage.cachedPromptTokens = cached;
    if (c.cache_creation_input_tokens !== undefined) usage.cacheWriteTokens = c.cache_creation_input_tokens;
    const reasoning = c['completion_tokens_details.reasoning_tokens'] ?? c['output_tokens_details.reasoning_tokens'];
    if (reasoning !== undefined) usage.reasoningTokens = reasoning;
    return usage;
  }
}
