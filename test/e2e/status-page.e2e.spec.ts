import { existsSync, mkdirSync } from 'node:fs';
import { expect } from 'chai';
import puppeteer, { type Browser } from 'puppeteer-core';
import request from 'supertest';
import { KEYS, assertNoKeyIn, chat, startRig, type Rig } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-token-status-0001';
const HOSTILE_LABEL = '<img src=x onerror=alert(1)>';
const FOURTH = 'ms-44444444-aaaa-4bbb-8ccc-000000000004';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

describe('the status page, in a real browser', function () {
  this.timeout(60_000);
  let rig: Rig;
  let browser: Browser | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian package chromium`);
      this.skip();
    }
    rig = await startRig({ adminToken: ADMIN, keys: [...KEYS, { key: FOURTH, label: HOSTILE_LABEL }] });
    // One request meets all three troubles in turn: a long cooldown, a refused token, a used-up day.
    rig.fake.behave(KEYS[0], { retryAfterSeconds: 120 });
    rig.fake.behave(KEYS[1], 'unauthorized');
    rig.fake.behave(KEYS[2], 'quota-exhausted');
    rig.fake.quota(FOURTH, { limit: 2000, remaining: 1500 });
    await chat(rig.url);
    await chat(rig.url);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  it(
    'answers 401 with WWW-Authenticate: Basic without the admin token, and renders the pool on the ' + 'server',
    async () => {
      const refused = await request(rig.app).get('/ms/status').expect(401);
      expect(refused.headers['www-authenticate']).to.match(/^Basic realm=/);
      const page = await request(rig.app).get('/ms/status').auth('anyone', ADMIN).expect(200);
      expect(page.headers['content-security-policy']).to.include("default-src 'self'");
      expect(page.text).to.include('<span class="badge state-cooling">cooling</span>');
      expect(page.text).to.include('&#60;img src=x onerror=alert(1)&#62;');
      expect(page.text).not.to.include(HOSTILE_LABEL);
      assertNoKeyIn(page.text, [...KEYS, FOURTH]);
      const data = await request(rig.app).get('/ms/status/data').set('authorization', `Bearer ${ADMIN}`).expect(200);
      assertNoKeyIn(JSON.stringify(data.body), [...KEYS, FOURTH]);
    },
  );

  it('clamps ?refresh=N to an hour: a huge N no longer overflows the timer into a request every few ms', async () => {
    const page = await browser!.newPage();
    let refreshes = 0;
    page.on('request', (req) => {
      if (req.url().includes('/status/data')) refreshes++;
    });
    await page.authenticate({ username: 'admin', password: ADMIN });
    for (const refresh of ['3000000', 'Infinity', '1e300', '-5']) {
      await page.goto(`${rig.url}/status?refresh=${refresh}`, { waitUntil: 'load' });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // -5 means the 1 s floor, not yet due; the others an hour.
    expect(refreshes).to.equal(0);
    await page.close();
  });

  it(
    'shows rows with state badges, escapes a hostile label, refreshes, and says when the balancer is ' + 'unreachable',
    async () => {
      const page = await browser!.newPage();
      const dialogs: string[] = [];
      const cspViolations: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      await page.authenticate({ username: 'admin', password: ADMIN });
      await page.setViewport({ width: 1000, height: 560 });
      await page.goto(`${rig.url}/status?refresh=1`, { waitUntil: 'networkidle0' });
      const rows = () =>
        page.$$eval('#keys tr', (trs) =>
          trs.map((tr) => [tr.children[0].textContent, tr.querySelector('.badge')?.textContent]),
        );
      expect(await rows()).to.deep.equal([
        ['ms-11…0001', 'cooling'],
        ['ms-22…0002', 'invalid'],
        ['ms-33…0003', 'exhausted'],
        [HOSTILE_LABEL, 'healthy'],
      ]);
      expect(await page.$eval('#keys tr:nth-child(1)', (tr) => tr.textContent)).to.match(/back in \d+m \d+s/);
      expect(
        await page.$eval('#keys tr:nth-child(4) progress', (p) => [p.getAttribute('value'), p.getAttribute('max')]),
      ).to.deep.equal(['1499', '2000']);
      expect(await page.$$eval('img', (imgs) => imgs.length)).to.equal(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}status.png` });

      rig.balancer.disableKey(HOSTILE_LABEL);
      await page.waitForFunction(
        () => document.querySelector('#keys tr:nth-child(4) .badge')?.textContent === 'disabled',
        { timeout: 5_000 },
      );
      expect(await page.$eval('#states', (dd) => dd.textContent)).to.include('1 disabled');

      rig.server.closeAllConnections();
      rig.server.close();
      await page.waitForFunction(() => /unreachable/.test(document.getElementById('freshness')?.textContent ?? ''), {
        timeout: 5_000,
      });
      expect(dialogs).to.deep.equal([]);
      expect(cspViolations).to.deep.equal([]);
      assertNoKeyIn(await page.content(), [...KEYS, FOURTH]);
    },
  );
});
