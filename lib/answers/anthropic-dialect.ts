// Anthropic's error dialect as an ErrorDialect: the balancer's answers in the shape Anthropic's SDKs and Claude Code
// read. The shapes themselves live in dialect/anthropic.ts (one way to write them); this only adapts them to the one
// writer (send.ts) and the relay. Which requests get it is `dialectOf`'s rule.
import { anthropicErrorBody, anthropicStreamErrorEvent, toAnthropicErrorBody } from '../dialect/anthropic.js';
import type { ErrorDialect } from './dialect.js';

/** Anthropic's error shape, `{"type":"error","error":{"type","message","code"}}`. */
export const ANTHROPIC_DIALECT: ErrorDialect = {
  name: 'anthropic',
  errorBody: (status, code, message) => anthropicErrorBody(status, message, code),
  // Anthropic's own `error` event; its SDKs read the event's type, not a status, so the status is not carried.
  streamError: (_status, code, message) => anthropicStreamErrorEvent(message, code),
  upstreamError: toAnthropicErrorBody,
};
