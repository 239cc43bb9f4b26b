// The `model_routes` setting: an object in the config file, or JSON in
// MODEL_ROUTES. Only its shape is checked here; the balancer checks the names
// and ids (ModelScope's owner/name, no empty or repeated entries) at start-up
// with a message that says which route is wrong.

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
