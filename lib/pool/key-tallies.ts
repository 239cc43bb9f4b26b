// Per-key request counts and latency buckets, kept as plain numbers on the
// request path and turned into Prometheus samples only when scraped. This is
// what keeps metrics off the hot path: a labelled prom-client inc() hashes its
// labels into a map on every call, which grows costly with 10 000 keys.

/** Time to the upstream's response headers: LLM calls take from tens of ms to minutes. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

/** What a key that has answered nothing shows: shared, never written (a pool of 100,000 keys allocates nothing). */
const NO_CODES: ReadonlyMap<string, number> = new Map();
const NO_BUCKETS = new Float64Array(LATENCY_BUCKETS.length + 1);

export class KeyTallies {
  private codes: Map<string, number> | undefined;
  private counts: Float64Array | undefined;
  latencySum = 0;
  latencyCount = 0;

  /** Upstream answers by status code, or 'error' / 'timeout'. */
  get byCode(): ReadonlyMap<string, number> {
    return this.codes ?? NO_CODES;
  }

  /** Observations per bucket (not cumulative); the last slot is +Inf. Read only. */
  get buckets(): Float64Array {
    return this.counts ?? NO_BUCKETS;
  }

  countResponse(code: string): void {
    this.codes ??= new Map();
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }

  observeLatency(seconds: number): void {
    let slot = 0;
    while (slot < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[slot]) slot++;
    this.counts ??= new Float64Array(LATENCY_BUCKETS.length + 1);
    this.counts[slot]++;
    this.latencySum += seconds;
    this.latencyCount++;
  }
}
