// The token usage the imitation reports. Figures are derived from sizes, not
// drawn at random, so a test (of usage accounting, say) can predict them:
// about four bytes a token, as a rough tokenizer counts English text.

/** OpenAI's `usage` object, as the imitation sends it. */
export interface ImitatedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Tokens the imitation counts for `bytes` bytes of text: one per four bytes, rounded up, at least 1. */
export function imitatedTokens(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4));
}

/** The usage of an answer `answerText` to a request whose body was `requestBody`. */
export function imitatedUsage(requestBody: Buffer, answerText: string): ImitatedUsage {
  const prompt = imitatedTokens(requestBody.length);
  const completion = imitatedTokens(Buffer.byteLength(answerText));
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
