// The `modelRoutes` option: a model name a client asks for, mapped to the
// ModelScope model ids that may serve it, first choice first. ModelScope
// limits calls per model as well as per account, so one popular model runs
// out on every key long before the accounts do; a route moves its requests on
// to the next model instead of answering 429 until the reset. Checked once, at
// construction, so a typo stops start-up instead of misrouting traffic.
import { namesHoldingPieces } from '../options/key-label.js';
import { describe, fail } from '../options/option-checks.js';

/**
 * Requested model names to the ModelScope model ids that serve them, first choice first. A name may be an alias
 * (`coder`) or a real model id (a fallback list for that model, usually starting with itself); the entries are
 * real model ids (`owner/name`), sent upstream as they are: routes do not chain.
 */
export type ModelRoutes = Record<string, readonly string[]>;

/** The routes once checked: by requested name, each list frozen. */
export type ResolvedModelRoutes = ReadonlyMap<string, readonly string[]>;

const OPTION = 'modelRoutes';
/**
 * Longest route name or model id, in characters: both go into headers, log lines and metric labels, and a request's
 * model is read only up to this length.
 */
export const MAX_MODEL_NAME_LENGTH = 200;
/** Visible ASCII, no whitespace: a name a header value and a log line carry as it is. */
const VISIBLE = /^[\x21-\x7e]+$/;
/** A ModelScope model id: `owner/name`, as every model on ModelScope is named. */
const MODEL_ID = /^[^/"\\]+\/[^/"\\]+$/;
const EXAMPLE = "{ coder: ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'] }";

/** A value quoted in an error, unless it holds a piece of a pool key (a token pasted in the wrong place). */
function quoted(value: string, keys: readonly string[]): string {
  return namesHoldingPieces([value], keys).size > 0 ? 'a value that contains one of the keys' : JSON.stringify(value);
}

function checkName(name: string, keys: readonly string[]): void {
  // Checked first: the name then appears in the option path of any later error.
  if (namesHoldingPieces([name], keys).size > 0) {
    fail(OPTION, 'has a route named by a value that contains one of the keys: name it by the model clients ask for.');
  }
  if (name.length === 0 || name.length > MAX_MODEL_NAME_LENGTH || !VISIBLE.test(name)) {
    fail(
      OPTION,
      `has a route named ${quoted(name, keys)}: a route's name is the model a client asks for, 1–` +
        `${MAX_MODEL_NAME_LENGTH} visible ASCII characters with no spaces, such as 'coder' or ` +
        "'deepseek-ai/DeepSeek-V3.1'.",
    );
  }
}

function checkEntry(option: string, entry: unknown, keys: readonly string[]): string {
  if (typeof entry !== 'string') {
    fail(option, `must be a ModelScope model id such as 'Qwen/Qwen3-Coder-30B-A3B-Instruct', got ${describe(entry)}.`);
  }
  // A route's ids go into headers, metric labels and /status: never a piece of a key.
  if (namesHoldingPieces([entry], keys).size > 0) {
    fail(option, 'is a value that contains one of the keys: a route lists model ids, never a token.');
  }
  if (entry.length > MAX_MODEL_NAME_LENGTH || !VISIBLE.test(entry) || !MODEL_ID.test(entry)) {
    fail(
      option,
      `must be a ModelScope model id (owner/name, such as 'Qwen/Qwen3-Coder-30B-A3B-Instruct'), got ` +
        `${quoted(entry, keys)}. A route's entries are sent upstream as they are: name real models, not other ` +
        'routes.',
    );
  }
  return entry;
}

function checkList(name: string, list: unknown, keys: readonly string[]): readonly string[] {
  const option = `${OPTION}[${JSON.stringify(name)}]`;
  if (!Array.isArray(list)) {
    fail(
      option,
      `must be a list of ModelScope model ids, first choice first, such as ${EXAMPLE}; got ${describe(list)}.`,
    );
  }
  if (list.length === 0) {
    fail(
      option,
      'is an empty list: give at least one ModelScope model id (the first is tried first), or drop the route.',
    );
  }
  const seen = new Set<string>();
  list.forEach((entry, index) => {
    const model = checkEntry(`${option}[${index}]`, entry, keys);
    if (seen.has(model)) {
      fail(`${option}[${index}]`, `repeats ${quoted(model, keys)}: name each model once, in the order to try them.`);
    }
    seen.add(model);
  });
  return Object.freeze([...seen]);
}

/**
 * Checks `modelRoutes` (undefined: no routes) and returns them by requested name. Throws a BalanceConfigError
 * (`ERR_MSB_INVALID_OPTION`) naming the route or entry at fault and the fix. `pool` holds the keys: an
 * error never quotes a value holding a piece of one.
 */
export function resolveModelRoutes(
  value: unknown,
  pool: readonly { readonly key: string }[] = [],
): ResolvedModelRoutes {
  if (value === undefined) return new Map();
  const keys = pool.map((spec) => spec.key);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(OPTION, `must be an object of model names to lists of ModelScope model ids, such as ${EXAMPLE}.`);
  }
  const routes = new Map<string, readonly string[]>();
  // Own enumerable names only, read without the prototype: a JSON `__proto__` member is a name like any other.
  for (const name of Object.keys(value)) {
    checkName(name, keys);
    routes.set(name, checkList(name, (value as Record<string, unknown>)[name], keys));
  }
  return routes;
}
