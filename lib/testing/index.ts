export {
  FakeModelScope,
  startFakeModelScope,
  type FakeModelScopeOptions,
  type ReceivedRequest,
} from './fake-modelscope.js';
export type {
  Behaviour,
  BehaviourRule,
  FakeBalance,
  FakeCounter,
  FakePoints,
  FakeQuota,
  ProbeBehaviour,
} from './behaviours.js';
export { imitatedTokens, imitatedUsage, type ImitatedUsage } from './imitated-usage.js';
