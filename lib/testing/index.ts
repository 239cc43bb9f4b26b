export {
  FakeModelScope,
  startFakeModelScope,
  type FakeModelScopeOptions,
  type ReceivedRequest,
} from './fake-modelscope.js';
export type { Behaviour, BehaviourRule, FakeQuota, ProbeBehaviour } from './behaviours.js';
