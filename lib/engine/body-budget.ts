// Request bodies are held in memory until their request ends (so failover can
// replay them). This caps the bytes held at once across all requests, so a
// burst of large uploads is refused with 503 instead of exhausting memory.
export class BodyBudget {
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Takes `bytes` from the budget; false (taking nothing) when that would pass the cap. */
  take(bytes: number): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  /** Bytes held now. */
  get inUse(): number {
    return this.held;
  }
}
