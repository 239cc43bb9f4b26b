import { expect } from 'chai';
import { KEYS, assertNoKeyIn, captureLogger, chat, startRig, type Rig } from '../helpers.js';

const forbidden = (message: string, requestId = 'r-1') => ({
  status: 403,
  body: { errors: { message, request_id: requestId } },
});

describe('403 and 429 answers read by their body', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const stat = (i: number) => Object.values(rig.balancer.stats())[i];
  const unknownShapes = (logger: ReturnType<typeof captureLogger>) =>
    logger.lines.filter((line) => /body the balancer does not know/.test(line.msg ?? ''));

  it('takes a 403 about permissions as refused, silently', async () => {
    const logger = captureLogger();
    rig = await startRig({ logger });
    rig.fake.behave(KEYS[0], forbidden('You do not have permission to access this model.'));
    expect((await chat(rig.url)).status).to.equal(200);
    expect(stat(0).state).to.equal('invalid');
    expect(unknownShapes(logger)).to.have.length(0);
  });

  it('logs a 403 body of an unknown shape once per shape, scrubbed of key pieces and cut short', async () => {
    const logger = captureLogger();
    rig = await startRig({ logger, keys: [KEYS[0], KEYS[1]], invalidKeyRetryMs: 1 });
    rig.fake.behave(KEYS[0], () => forbidden(`Token ${KEYS[0]} is on hold. ${'x'.repeat(500)}`, `r-${Math.random()}`));
    for (let i = 0; i < 3; i++) expect((await chat(rig.url)).status).to.equal(200);
    rig.fake.behave(KEYS[0], forbidden('Another thing entirely.'));
    await new Promise((resolve) => setTimeout(resolve, 2));
    await chat(rig.url);
    await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.be.at.least(3);
    const lines = unknownShapes(logger);
    expect(lines).to.have.length(2);
    const first = lines[0].obj as { status: number; key: string; body: string };
    expect(first).to.include({ status: 403, key: Object.keys(rig.balancer.stats())[0] });
    expect(first.body.length).to.be.at.most(300);
    expect(first.body).to.include('is on hold');
    assertNoKeyIn(logger.text());
    expect(stat(0).state).to.equal('invalid');
  });
});
