import { createConfig } from '../../dist/example/config-schema.js';
import { startServer } from '../../dist/example/create-server.js';
import { createLogger } from '../../dist/example/logger.js';
import { arg, benchKeys } from './common.js';

/** The example server as users run it (an Express app), logging at warn so stdout stays quiet. */
const keys = benchKeys(3);
const config = createConfig({}, []);
config.load({ api_keys: keys, target_url: arg('target'), host: '127.0.0.1', server_port: 0, log_level: 'warn' });
const running = await startServer(config.getProperties(), createLogger('warn', keys));
process.stdout.write(`READY ${running.port}\n`);
process.on('SIGTERM', () => process.exit(0));
