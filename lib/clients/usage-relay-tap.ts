// The relay's tap for a client's request: each chunk of the answer, as it passes to the client (decoded, never held
// back), goes to a UsageTap that reads the `usage` of a JSON answer or of a stream's usage chunk
// (`stream_options.include_usage`), OpenAI's or Anthropic's. What was read whole counts even when the answer broke off.
import type { TokenUsage as EventUsage } from '../engine/events.js';
import type { TokenUsage } from '../upstream/token-usage.js';
import { UsageTap } from '../upstream/usage-tap.js';

export class UsageRelayTap {
  private readonly tap = new UsageTap();

  chunk(bytes: Buffer): void {
    this.tap.push(bytes);
  }

  end(complete: boolean): void {
    if (complete) this.tap.end();
  }

  /** The tokens the answer reported, or undefined when it reported none. */
  usage(): TokenUsage | undefined {
    return this.tap.usage();
  }
}

/** The usage as the `request` event carries it. */
export function eventUsage(usage: TokenUsage): EventUsage {
  const shown: EventUsage = { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens };
  if (usage.totalTokens !== undefined) shown.totalTokens = usage.totalTokens;
  return shown;
}
