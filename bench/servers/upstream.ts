import { startFakeModelScope } from '../../lib/testing/index.js';
import { FAILOVER_KEY } from './common.js';

/** The ModelScope imitation, in its own process. */
const fake = await startFakeModelScope({ streamChunks: 20, streamIntervalMs: 50 });
// The benchmark would otherwise keep every request in memory for assertions.
fake.received.push = () => 0;
fake.behave(FAILOVER_KEY, 'rate-limited');
process.stdout.write(`READY ${new URL(fake.url).port}\n`);
process.on('SIGTERM', () => process.exit(0));
