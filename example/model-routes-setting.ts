// The `model_routes` setting: an object in the config file, or JSON in
// MODEL_ROUTES. Convict checks its shape; then the balancer's own check of the
// names and ids (ModelScope's owner/name, no empty or repeated entries) runs
// at load, so start-up stops with one line naming the setting and the route.
import { BalanceConfigError } from '../lib/options/errors.js';
import { resolveModelRoutes } from '../lib/model-routes/model-routes.js';

const EXAMPLE = '{"coder":["Qwen/Qwen3-Coder-480B-A35B-Instruct","Qwen/Qwen3-Coder-30B-A3B-Instruct"]}';

export const MODEL_ROUTES_FORMAT = {
  name: 'model-routes',
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error(`must be JSON: an object such as ${EXAMPLE}`);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`must be an object of model names to lists of model ids, such as ${EXAMPLE}`);
    for (const [name, models] of Object.entries(value)) {
      if (!Array.isArray(models) || models.some((model) => typeof model !== 'string'))
        throw new Error(`route ${JSON.stringify(name)} must be a list of model ids, such as ${EXAMPLE}`);
    }
  },
  /** JSON in the environment (or on the command line); empty means none. Text that is not JSON fails validation. */
  coerce(value: unknown) {
    if (typeof value !== 'string') return value;
    if (value.trim() === '') return {};
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
};

/** What is wrong with the routes, named as the setting (`model_routes["coder"] is an empty list …`), or undefined. */
export function modelRoutesProblem(routes: Record<string, string[]>, keys: readonly string[]): string | undefined {
  try {
    resolveModelRoutes(
      routes,
      keys.map((key) => ({ key })),
    );
    return undefined;
  } catch (error) {
    if (!(error instanceof BalanceConfigError)) throw error;
    return error.message
      .replace(/^modelscope-balance: option `modelRoutes(.*?)` /, 'model_routes$1 ')
      .replace(/\.$/, '');
  }
}
