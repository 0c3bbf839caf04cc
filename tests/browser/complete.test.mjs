// Browser test of the "complete the look" panel: the small real workspace of recommend.test.mjs plus a
// compatibility model (`mystyle train --model compat --epochs 1`), `mystyle serve`, headless chromium
// (harness.mjs). Uploads a MANGO photo; the panel shows the outfits POST /api/complete proposes, each a
// collage of the user's own photo and the proposed pieces, whose images load and link to the shop;
// "swap" walks a piece through its slot's candidates without a new request; asking for another slot
// for the photo re-plans the looks; at 375 px nothing scrolls sideways. Screenshots of the panel
// (complete-desktop.png, complete-phone.png) go to $MYSTYLE_BROWSER_OUT. Exits 77 (skipped) when
// playwright-core, chromium or the MANGO data set is absent.
//
// A one-epoch style model puts most items within the completer's near-identical cosine (0.9) of each
// other, so here the search usually proposes a single look (three on a fully trained workspace); the
// test takes as many as the API proposes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  check, elementShot, horizontalOverflow, loadAllImages, makeWorkspace, mango, mystyle, out, startServer, stopServer, withBrowser,
} from './harness.mjs';

const OUTFITS = 60;
const photo = path.join(mango, 'images', '2019_41085800_02.jpg');

/** What the page asks for (3 outfits, 6 candidates per slot), asked here directly. */
async function completeDoc(url, slot = '') {
  const form = new FormData();
  form.append('image', new Blob([readFileSync(photo)], { type: 'image/jpeg' }), path.basename(photo));
  form.append('outfits', '3');
  form.append('per_slot', '6');
  if (slot) form.append('slot', slot);
  const response = await fetch(new URL('api/complete', url), { method: 'POST', body: form });
  if (response.status !== 200) throw new Error(`POST /api/complete: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The looks as the page shows them: per look, the user's photo and each piece (slot, item id, image). */
function readLooks(page) {
  return page.$$eval('#looks .look', (cards) => cards.map((card) => ({
    yours: [...card.querySelectorAll('.piece.yours img')].map((i) => ({ src: i.src, width: i.naturalWidth, alt: i.alt })),
    why: card.querySelector('.why').textContent,
    score: card.querySelector('.look-score').textContent,
    pieces: [...card.querySelectorAll('.look-piece')].map((f) => {
      const img = f.querySelector('img');
      return { slot: f.dataset.slot, id: Number(f.dataset.itemId), src: img.src, width: img.naturalWidth, alt: img.alt,
        href: f.querySelector('a').href, swap: f.querySelector('button.swap').getAttribute('aria-label') };
    }),
  })));
}

async function uploadAndSeeLooks(page, expected) {
  await page.setInputFiles('#file-input', photo);
  await page.waitForSelector('#looks .look', { timeout: 20000 });
  await loadAllImages(page);
  const looks = await readLooks(page);
  check(looks.length === expected.outfits.length && looks.length >= 1,
    `the panel shows the ${expected.outfits.length} looks the API proposes (got ${looks.length})`);
  const upload = await page.getAttribute('#upload-image', 'src');
  check(looks.every((l) => l.yours.length === 1 && l.yours[0].src === upload && l.yours[0].width > 0 && l.yours[0].alt),
    'every look shows the user\'s own photo, loaded, with an alt text');
  check(looks.every((l, i) => l.pieces.length === expected.outfits[i].pieces.length &&
      l.pieces.every((p, k) => p.id === expected.outfits[i].pieces[k].item.item_id && p.slot === expected.outfits[i].pieces[k].slot)),
    'each look holds the API\'s pieces, in their slots');
  check(looks.every((l) => l.pieces.every((p) => p.width > 0 && p.alt)), 'every piece image loads (naturalWidth > 0) and has an alt text');
  check(looks.every((l) => l.pieces.every((p) => p.href.startsWith('https://shop.mango.com/'))), 'every piece links to its shop page');
  check(looks.every((l) => l.pieces.every((p) => p.slot !== expected.query.slot)), `no piece fills the photo's own slot (${expected.query.slot})`);
  check(looks.every((l, i) => l.why.length > 10 && l.score.includes(expected.outfits[i].score.toFixed(2))),
    `each look shows its score and why ("${looks[0].why}")`);
  return looks;
}

/** Clicks the first enabled swap of look `index` until the piece comes back; checks each step. */
async function swapThrough(page, expected, index, requests) {
  const look = page.locator('#looks .look').nth(index);
  const figures = look.locator('.look-piece');
  let k = 0;
  while (await figures.nth(k).locator('button.swap').isDisabled()) k++;
  const fig = figures.nth(k);
  const proposed = expected.outfits[index].pieces[k];
  const candidates = expected.candidates.find((c) => c.slot === proposed.slot).pieces;
  const cycle = [proposed.item.item_id, ...candidates.map((c) => c.item.item_id).filter((id) => id !== proposed.item.item_id)];
  const before = requests.length;
  const seen = [];
  for (let step = 1; step <= cycle.length; step++) {
    const src = await fig.locator('img').getAttribute('src');
    await fig.locator('button.swap').click();
    const id = Number(await fig.getAttribute('data-item-id'));
    await page.waitForFunction((f) => f.querySelector('img').complete, await fig.elementHandle());
    const now = await fig.evaluate((f) => ({ src: f.querySelector('img').getAttribute('src'), width: f.querySelector('img').naturalWidth,
      slot: f.dataset.slot, href: f.querySelector('a').href }));
    seen.push(id);
    if (step === 1) {
      check(id === cycle[1] && now.src !== src && now.width > 0 && now.slot === proposed.slot && now.href.includes(
        candidates.find((c) => c.item.item_id === id).item.source_id),
      `swap replaces the ${proposed.slot} by its slot's next candidate (${proposed.item.item_id} -> ${id}), its image loads and its link follows`);
    }
  }
  check(seen.join() === [...cycle.slice(1), cycle[0]].join(),
    `swapping walks through the ${cycle.length - 1} other candidates of the slot and back to the proposed piece`);
  check(requests.length === before, 'swapping asks the server nothing');
  check(/as proposed/.test(await look.locator('.look-score').textContent()), 'after a swap the score says it was the proposed look\'s');
}

/* ---------- the test ---------- */

mkdirSync(out, { recursive: true });
const ws = mkdtempSync(path.join(tmpdir(), 'mystyle-browser-complete-'));
let server = null;
let failed = false;
try {
  const t0 = Date.now();
  const items = makeWorkspace(ws, OUTFITS);
  mystyle(ws, 'train', '--model', 'compat', '--epochs', '1', '--threads', '2');
  console.log(`workspace: ${items.length} items from ${OUTFITS} outfits, style and compat models in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const started = await startServer(ws);
  server = started.server;
  const url = started.url;
  check(/complete the look: on/.test(started.log()), 'the server opens the compatibility model at start and says so');
  const expected = await completeDoc(url);

  await withBrowser({ width: 1280, height: 900 }, async (page) => {
    const requests = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#complete-slot option').length > 1);
    await uploadAndSeeLooks(page, expected);
    check(await page.inputValue('#complete-slot') === expected.query.slot, `the panel says what it took the photo for (${expected.query.slot})`);
    await swapThrough(page, expected, 0, requests);
    await elementShot(page, '#complete', path.join(out, 'complete-desktop.png'));

    // Telling it what the piece is re-plans the looks around that slot.
    const other = expected.slots[0];
    const asked = await completeDoc(url, other);
    await page.selectOption('#complete-slot', other);
    await page.waitForFunction((slot) => /Treated as/.test(document.querySelector('#complete-meta').textContent) &&
      document.querySelectorAll('#looks .look').length > 0 && !document.querySelector('#complete-loading').checkVisibility(), other);
    const replanned = await readLooks(page);
    check(replanned.length === asked.outfits.length && replanned.every((l) => l.pieces.every((p) => p.slot !== other)),
      `choosing "${other}" for the photo re-plans ${asked.outfits.length} looks without a ${other}`);
  });

  await withBrowser({ width: 375, height: 812 }, async (page) => {
    const requests = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    await uploadAndSeeLooks(page, expected);
    await swapThrough(page, expected, expected.outfits.length - 1, requests);
    const overflow = await horizontalOverflow(page);
    check(overflow <= 0, `at 375 px nothing is wider than the screen (overflow ${overflow} px)`);
    const clipped = await page.$$eval('#looks .look-collage', (cs) => cs.filter((c) => c.scrollWidth > c.clientWidth).length);
    check(clipped === 0, 'at 375 px every collage wraps inside its card');
    await elementShot(page, '#complete', path.join(out, 'complete-phone.png'));
  });

  const { code, signal } = await stopServer(server);
  server = null;
  check(code === 0, `the server stops cleanly on SIGTERM (exit ${code}${signal ? ', ' + signal : ''})`);
  console.log(`screenshots in ${out}; ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  if (server) server.kill('SIGKILL');
  rmSync(ws, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
