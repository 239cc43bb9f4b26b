export { modelscopeBalance, type Balancer, type BalancerHandles } from './balancer.js';
export type { BalancerErrorCode } from './error-response.js';
export type { KeyCheck } from './key-admin.js';
export type { MembershipChange } from './pool.js';
export type { ShownStatus } from './pool-entry.js';
export type { KeyStats, QuotaStats } from './stats.js';
export { MemoryStore, type SharedUpdate, type Store, type StoreHandlers } from './store.js';
export { BalanceConfigError } from './errors.js';
export type { Logger } from './logger.js';
export type {
  BalanceOptions, CooldownOptions, CorsOptions, HealthCheckOptions, KeySpec, MetricsOptions, Options, QuotaOptions,
  RetryOptions, Strategy, TaskAffinityOptions, TimeoutOptions,
} from './options.js';
export type { KeyStatus } from './key-state.js';
