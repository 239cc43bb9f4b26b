import express from 'express';
import { modelscopeBalance } from '../../lib/index.js';
import { announce, arg, benchKeys } from './common.js';

/** The balancer mounted in Express, metrics on, with --keys N keys. */
const keys = benchKeys(Number(arg('keys', '3')));
const app = express();
app.use(modelscopeBalance({ keys, target: arg('target') }));
const server = app.listen(0, '127.0.0.1', () => announce(server));
