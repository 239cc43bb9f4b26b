import { runHostileSoak } from '../test/fixtures/hostile-soak.js';

/** `npm run soak`: the hostile soak for a minute (SOAK_SECONDS to change it); exits 1 on any problem. */
const seconds = Number(process.env.SOAK_SECONDS ?? 60);
console.log(`hostile soak for ${seconds} s …`);
const report = await runHostileSoak(seconds, 20);
console.log(
  JSON.stringify({ requests: report.requests, statuses: report.statuses, non_readers: report.nonReaders }, null, 2),
);
if (report.problems.length > 0) {
  console.error(`problems:\n- ${report.problems.join('\n- ')}`);
  process.exit(1);
}
console.log('no crash, no key piece leaked, nothing left in flight, no key blamed for a silent client');
