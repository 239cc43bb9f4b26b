import { startHostileUpstream } from '../../test/fixtures/hostile-upstream.js';

/** The hostile upstream of the soak, in its own process (`/v1/hostile/fast-stream` answers 26 MB as fast as it can). */
const upstream = await startHostileUpstream();
process.stdout.write(`READY ${new URL(upstream.url).port}\n`);
process.on('SIGTERM', () => process.exit(0));
