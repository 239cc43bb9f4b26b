import type { BodyBudget } from './body-budget.js';
import type { Logger } from '../observe/logger.js';
import type { BalancerMetrics } from '../observe/metrics.js';
import type { KeyPool } from '../pool/pool.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import type { SharedState } from '../store/shared-state.js';
import type { TaskAffinity } from '../pool/task-affinity.js';
import type { UpstreamProxy } from '../upstream/upstream-proxy.js';
import type { UnknownAnswers } from '../observe/unknown-answers.js';

/** What the request handlers of one balancer share. Built once by `modelscopeBalance()`. */
export interface BalancerContext {
  config: ResolvedConfig;
  pool: KeyPool;
  metrics: BalancerMetrics;
  logger: Logger;
  /** The http-proxy-middleware instance every attempt goes through. */
  proxy: UpstreamProxy;
  scrubber: KeyScrubber;
  /** Bytes of request bodies held at once, capped by maxBufferedBytes. */
  bodies: BodyBudget;
  tasks: TaskAffinity;
  /** Whether the per-request log line would be written: checked so a silent logger costs nothing. */
  logsRequests(): boolean;
  /** The store other replicas share key state through (in memory by default). */
  shared: SharedState;
  /** 403 bodies of shapes the answer table does not know, logged once each. */
  unknownAnswers: UnknownAnswers;
}
