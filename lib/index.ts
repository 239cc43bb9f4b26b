export { modelscopeBalance, type Balancer, type BalancerHandles } from './balancer.js';
export { BALANCER_ERROR_CODES, type BalancerErrorCode } from './answers/error-response.js';
export type { KeyCheck } from './engine/key-admin.js';
export type { ReplaceOptions } from './engine/key-replacer.js';
export type { MembershipChange } from './pool/pool.js';
export type { ShownStatus } from './pool/pool-entry.js';
export type { AllowanceStats, BalanceStats, ExhaustionStats, KeyStats, QuotaStats } from './views/key-stats.js';
export type { ExhaustionSource } from './pool/account-quota.js';
export {
  MemoryStore,
  type SharedQuotaUpdate,
  type SharedUpdate,
  type Store,
  type StoreHandlers,
} from './store/store.js';
export { DEFAULTS, STRATEGIES } from './options/defaults.js';
/** The key rule every key is checked by, for checking keys before they reach a balancer (the server's keys file). */
export { KEY_FORMATS, keyFormatProblem } from './options/key-format.js';
export { BalanceConfigError, CONFIG_ERROR_CODES, type ConfigErrorCode, closestName } from './options/errors.js';
/** Removes every 12-character piece of the given keys from text or bytes (the example server's logger uses it). */
export { KeyScrubber } from './upstream/scrub.js';
export type { Logger } from './observe/logger.js';
export type {
  BalanceOptions,
  CooldownOptions,
  CorsOptions,
  HealthCheckOptions,
  KeyFormat,
  KeySpec,
  MetricsOptions,
  Options,
  QuotaOptions,
  RetryOptions,
  Strategy,
  TaskAffinityOptions,
  TimeoutOptions,
} from './options/options.js';
export type { KeyStatus } from './pool/key-state.js';
