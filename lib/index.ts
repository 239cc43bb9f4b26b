export { modelscopeBalance, type Balancer, type BalancerHandles } from './balancer.js';
export { BALANCER_ERROR_CODES, type BalancerErrorCode } from './answers/error-codes.js';
export { BALANCER_EVENTS } from './engine/events.js';
export type {
  AttemptEvent,
  AttemptVerdict,
  BalancerEventName,
  BalancerEvents,
  BalancerListener,
  KeyAllowanceBackEvent,
  KeyExhaustedEvent,
  KeyOperatorEvent,
  KeyStateEvent,
  KeyTransitionEvent,
  RequestEndEvent,
  RequestEvent,
  RequestStartEvent,
  StoreEvent,
  TokenUsage,
} from './engine/events.js';
export type { KeyCheck } from './engine/key-admin.js';
export type { ProbeResult } from './upstream/health-checker.js';
export type { AttemptFailure } from './upstream/upstream-attempt.js';
export { KEY_CHANGE_ERROR_CODES, KeyChangeError, type KeyChangeErrorCode } from './engine/key-change-error.js';
export type { ReplaceOptions } from './engine/key-replacer.js';
export type { MembershipChange } from './pool/pool.js';
export type { ShownStatus } from './pool/pool-entry.js';
export type { AllowanceStats, BalanceStats, ExhaustionStats, KeyStats, QuotaStats } from './views/key-stats.js';
export type { ExhaustionSource } from './pool/account-quota.js';
export {
  MemoryStore,
  type SharedHoldUpdate,
  type SharedKeyUpdate,
  type SharedQuotaUpdate,
  type SharedUpdate,
  type Store,
  type StoreHandlers,
  type StoreStatus,
} from './store/store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
/** What a store's updates carry (each field of `SharedUpdate`), and why a value read from a store is dropped. */
export type { BalanceFigures, Exhaustion, LastError, QuotaFigures, Strikes } from './store/shared-update.js';
export type { StoreRejectReason } from './observe/metrics.js';
export { DEFAULTS, STRATEGIES } from './options/defaults.js';
export { KEY_FORMATS } from './options/key-format.js';
export { BalanceConfigError, CONFIG_ERROR_CODES, type ConfigErrorCode } from './options/errors.js';
export type { LoggerOption as Logger } from './observe/logger.js';
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
  RoutesOptions,
  Strategy,
  TaskAffinityOptions,
  TimeoutOptions,
} from './options/options.js';
export type { ModelRoutes } from './model-routes/model-routes.js';
export type { KeyStatus, TransitionReason } from './pool/key-state.js';
export type { ClientLimits, ClientSpec } from './clients/client-spec.js';
export {
  CLIENT_CHANGE_ERROR_CODES,
  ClientChangeError,
  type ClientChangeErrorCode,
} from './clients/client-change-error.js';
export type { UsageReport } from './clients/client-book.js';
export type { ClientsChange } from './clients/client-registry.js';
