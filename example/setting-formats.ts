// The value formats of the standalone server's settings, registered with convict once (on import): what a setting
// accepts from the config file, the environment and the command line, and how a string from the latter is read.
import convict from 'convict';
import { MODEL_ROUTES_FORMAT } from './model-routes-setting.js';

const LIST_FORMAT = {
  name: 'string-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
      throw new Error('must be a list of strings');
  },
  /** Comma-separated in the environment; entries trimmed, empty ones dropped (convict's Array keeps `''`). */
  coerce(value: unknown) {
    const items = Array.isArray(value) ? value : String(value).split(',');
    return items.map((item) => String(item).trim()).filter((item) => item !== '');
  },
};

const PORT_FORMAT = {
  name: 'port-number',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535)
      throw new Error('must be a port number from 0 to 65535');
  },
  /** The seed writes the port as a string ("8080"); numbers work too. */
  coerce(value: unknown) {
    return typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  },
};

const POSITIVE = {
  name: 'positive-int',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) <= 0) throw new Error('must be a positive whole number');
  },
  coerce: (value: unknown) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
};

const NON_NEGATIVE = {
  ...POSITIVE,
  name: 'non-negative-int',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 0) throw new Error('must be a whole number, 0 or more');
  },
};

const BOOLEAN_FORMAT = {
  name: 'flag',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false');
  },
  /** convict's Boolean takes any string but "false" as true; a typo should stop start-up instead. */
  coerce(value: unknown) {
    const text = String(value).trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    return value;
  },
};

convict.addFormats({
  flag: BOOLEAN_FORMAT,
  'string-list': LIST_FORMAT,
  'port-number': PORT_FORMAT,
  'positive-int': POSITIVE,
  'non-negative-int': NON_NEGATIVE,
  'model-routes': MODEL_ROUTES_FORMAT,
});
