export { modelscopeBalance, type Balancer } from './balancer.js';
export { BalanceConfigError } from './errors.js';
export type { Logger } from './logger.js';
export type {
  BalanceOptions, CooldownOptions, CorsOptions, HealthCheckOptions, KeySpec, MetricsOptions, Options, QuotaOptions,
  RetryOptions, Strategy, TaskAffinityOptions, TimeoutOptions,
} from './options.js';
export type { KeyStatus } from './key-state.js';
