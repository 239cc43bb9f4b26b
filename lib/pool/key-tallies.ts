// Per-key request counts and latency buckets, kept as plain numbers on the
// request path and turned into Prometheus samples only when scraped. This is
// what keeps metrics off the hot path: a labelled prom-client inc() hashes its
// labels into a map on every call, which grows costly with 10 000 keys.

/** Time to the upstream's response headers: LLM calls take from tens of ms to minutes. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

export class KeyTallies {
  /** Upstream answers by status code, or 'error' / 'timeout'. */
  readonly byCode = new Map<string, number>();
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  latencyCount = 0;

  countResponse(code: string): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }

  observeLatency(seconds: number): void {
    let slot = 0;
    while (slot < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[slot]) slot++;
    this.buckets[slot]++;
    this.latencySum += seconds;
    this.latencyCount++;
  }
}
