// Browser test of the web app: a small real workspace made with the mystyle CLI, `mystyle serve` on a
// free loopback port, Debian's chromium driven headless by playwright-core (harness.mjs). Uploads a MANGO
// photo, checks that the similar items and at least one outfit render, that each similar item shows its
// colour family, that a bad file gets a clear message, that the "complete the look" panel stays hidden on
// a workspace without a compatibility model (complete.test.mjs tests it with one), and takes desktop
// (1280 wide) and phone (375 wide) screenshots into $MYSTYLE_BROWSER_OUT. Exits 77 (skipped) when playwright-core, chromium or MANGO is absent.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  check, horizontalOverflow, loadAllImages, makeWorkspace, mango, out, startServer, stopServer, withBrowser,
} from './harness.mjs';

const OUTFITS = 60;

async function uploadAndCheck(page, photo) {
  await page.setInputFiles('#file-input', photo);
  await page.waitForSelector('#similar .item-card', { timeout: 20000 });
  await page.waitForSelector('#outfits .outfit-card', { timeout: 20000 });
  const similar = await page.locator('#similar .item-card').count();
  const outfits = await page.locator('#outfits .outfit-card').count();
  check(similar === 10, `10 similar items render (got ${similar})`);
  check(outfits >= 1, `at least one outfit renders (got ${outfits})`);
  check((await page.getAttribute('#seen-image', 'src') || '').startsWith('data:image/png;base64,'),
    'the image the model saw is shown');
  check(await page.locator('#outfits .outfit-card').first().locator('.piece.matched').count() >= 1,
    'an outfit marks the similar piece that made it match');
  const strength = await page.locator('#similar .item-card .score-text').first().textContent();
  check(/^(very close|close|related|weak) · /.test(strength), `the best match shows a readable strength ("${strength}")`);
  // Every card names its colour family (docs/colour.md) with a swatch, not MANGO's colour group alone.
  const colours = await page.locator('#similar .item-card .item-colour').evaluateAll((els) =>
    els.map((e) => ({ shown: !e.hidden, family: e.dataset.family, text: e.textContent.trim() })));
  const families = new Set(['black', 'white', 'grey', 'beige', 'brown', 'metallic', 'blue', 'green', 'yellow', 'orange',
    'red', 'pink', 'purple', 'multi']);
  check(colours.length === 10 && colours.every((c) => c.shown && families.has(c.family)),
    `every similar item shows its colour family (${colours.map((c) => c.text).join('; ')})`);
  await loadAllImages(page);
  const broken = await page.evaluate(() => [...document.images].filter((i) => i.src && i.naturalWidth === 0).map((i) => i.src));
  check(broken.length === 0, `every image loads (${broken.join(', ') || 'none broken'})`);
}

/** Ask by colour: the chips of the families among the results ("any colour" first and pressed); one
 *  re-asks with colour= and every similar piece is then of it; "any colour" clears it. Then a card's
 *  "other colours" opens the dialog with exactly the design's other items the API lists. */
async function colourChipsAndOtherColours(page, phone) {
  await page.waitForSelector('#colour-chips:not([hidden]) .colour-chip');
  const chips = await page.locator('#colour-chips .colour-chip').evaluateAll((els) =>
    els.map((e) => ({ family: e.dataset.family, pressed: e.getAttribute('aria-pressed') })));
  const shown = await page.locator('#similar .item-card .item-colour').evaluateAll((els) => els.map((e) => e.dataset.family));
  check(chips.length >= 2 && chips[0].family === '' && chips[0].pressed === 'true',
    `"any colour" comes first, pressed, then the families (${chips.map((c) => c.family || 'any').join(', ')})`);
  const counts = chips.slice(1).map((c) => shown.filter((f) => f === c.family).length);
  check(new Set(chips.slice(1).map((c) => c.family)).size === new Set(shown.filter(Boolean)).size &&
    counts.every((n, i) => i === 0 || n <= counts[i - 1]),
    `one chip per family among the results, the most common first (${counts.join(', ')})`);
  const family = chips[chips.length - 1].family;
  await page.locator(`#colour-chips .colour-chip[data-family="${family}"]`).click();
  await page.waitForFunction((f) => {
    const cards = [...document.querySelectorAll('#similar .item-card .item-colour')];
    return cards.length > 0 && cards.every((c) => c.dataset.family === f);
  }, family, { timeout: 20000 });
  check(await page.getAttribute(`#colour-chips .colour-chip[data-family="${family}"]`, 'aria-pressed') === 'true',
    `the ${family} chip re-asks with colour=${family}: every similar piece is ${family}, the chip pressed`);
  if (phone) {
    const overflow = await horizontalOverflow(page);
    check(overflow <= 0, `the colour chips fit a phone screen (overflow ${overflow} px)`);
  }
  await page.locator('#colour-chips .colour-chip[data-family=""]').click();
  await page.waitForFunction(() => document.querySelector('#colour-chips .colour-chip[data-family=""]').getAttribute('aria-pressed') === 'true' &&
    document.querySelectorAll('#similar .item-card').length === 10, null, { timeout: 20000 });
  check(true, '"any colour" clears it: 10 similar pieces again');

  const card = page.locator('#similar .item-card').first();
  await card.locator('.other-colours').click();
  await page.waitForSelector('#colours-dialog[open] #colours-nearest .item-card, #colours-dialog[open] #colours-nearest .empty');
  const title = await page.textContent('#colours-title');
  const source = (title.match(/ (\S+) in other colours$/) || [])[1];
  const doc = await page.evaluate(async (code) => {
    const items = await (await fetch(`/api/items?q=${encodeURIComponent(code)}&per_page=5`)).json();
    const item = items.items.find((i) => i.source_id === code);
    return (await fetch(`/api/items/${item.item_id}/colours?k=8`)).json();
  }, source);
  // Unranked cards name their product code where a ranked one shows its rank.
  const designIds = await page.locator('#colours-design .item-card .rank').evaluateAll((els) => els.map((e) => e.textContent));
  check(designIds.length === doc.same_design.length &&
    doc.same_design.every((m) => designIds.includes(m.source_id)),
    `"other colours" shows the design's other colours the API lists (${doc.same_design.map((m) => m.source_id).join(', ') || 'none'})`);
  const nearest = await page.locator('#colours-nearest .item-card .item-colour').evaluateAll((els) => els.map((e) => e.dataset.family));
  check(nearest.length === doc.nearest.length && nearest.every((f) => f && f !== doc.item.colour_family),
    `then the nearest of its type in other colours (${nearest.join(', ') || 'none'})`);
  const pick = await page.locator('#colours-chips .colour-chip[data-family]:not([data-family=""])').first().getAttribute('data-family');
  await page.locator(`#colours-chips .colour-chip[data-family="${pick}"]`).click();
  await page.waitForFunction((f) => document.querySelector(`#colours-chips .colour-chip[data-family="${f}"]`).getAttribute('aria-pressed') === 'true' &&
    [...document.querySelectorAll('#colours-nearest .item-card .item-colour')].every((c) => c.dataset.family === f), pick, { timeout: 20000 });
  check(true, `a colour chip in the dialog asks for the nearest in ${pick}`);
  if (phone) {
    const overflow = await horizontalOverflow(page);
    check(overflow <= 0, `the other-colours dialog fits a phone screen (overflow ${overflow} px)`);
  }
  await page.screenshot({ path: path.join(out, `${phone ? 'phone' : 'desktop'}-other-colours.png`) });
  await page.locator('#colours-close').click();
  check(await page.locator('#colours-dialog[open]').count() === 0, 'the dialog closes');
}

/* ---------- the test ---------- */

mkdirSync(out, { recursive: true });
const ws = mkdtempSync(path.join(tmpdir(), 'mystyle-browser-ws-'));
let server = null;
let failed = false;
try {
  const t0 = Date.now();
  const items = makeWorkspace(ws, OUTFITS);
  console.log(`workspace: ${items.length} items from ${OUTFITS} outfits in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const photo = path.join(mango, 'images', '2019_41085800_02.jpg');
  const notAPhoto = path.join(ws, 'notes.txt');
  writeFileSync(notAPhoto, 'this is not a photo\n');
  const started = await startServer(ws);
  server = started.server;
  const url = started.url;
  console.log(`server at ${url}`);

  await withBrowser({ width: 1280, height: 900 }, async (page) => {
    await page.goto(url, { waitUntil: 'load' });
    await page.reload({ waitUntil: 'load' });  // the first load also pays for the browser's own start-up
    const loadMs = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
    console.log(`page and assets loaded in ${loadMs.toFixed(0)} ms`);
    check(await page.title() === 'My Style Manager', 'the page loads');
    await page.waitForFunction(() => document.querySelectorAll('#category-select option').length > 1);
    await uploadAndCheck(page, photo);
    await colourChipsAndOtherColours(page, false);
    const model = await page.evaluate(() => fetch('/api/model').then((r) => r.json()));
    check(model.complete && model.complete.available === false && /mystyle train --model compat/.test(model.complete.reason),
      'GET /api/model says complete the look is off, and what to run');
    check(await page.locator('#complete').isHidden(), 'without a compatibility model the "complete the look" panel stays hidden');
    await page.screenshot({ path: path.join(out, 'desktop-recommend.png'), fullPage: true });

    await page.setInputFiles('#file-input', notAPhoto);
    await page.waitForSelector('#error:not([hidden])');
    const error = await page.textContent('#error');
    check(/notes\.txt/.test(error) && /format|image/i.test(error), `a bad file gets a clear message: "${error}"`);
    await page.screenshot({ path: path.join(out, 'desktop-error.png') });

    await page.goto(`${url}#/catalog`);
    await page.waitForSelector('#catalog-grid .item-card');
    await loadAllImages(page);
    check((await page.locator('#catalog-grid .item-card').count()) === 24, 'the catalog shows a page of 24 items');
    await page.screenshot({ path: path.join(out, 'desktop-catalog.png'), fullPage: true });

    await page.goto(`${url}#/model`);
    await page.waitForSelector('#model-stats .stat');
    await loadAllImages(page);
    await page.waitForFunction(() => [...document.querySelectorAll('.figure:not([hidden]) img')].every((i) => i.naturalWidth > 0),
      null, { timeout: 30000 });
    check(await page.locator('#fig-accuracy_curve:not([hidden]) img').count() === 1 &&
      await page.locator('#fig-reconstructions[hidden]').count() === 1,
      'the model page shows the style model\'s loss and accuracy curves and latent space (no reconstructions)');
    await page.screenshot({ path: path.join(out, 'desktop-model.png'), fullPage: true });
  });

  await withBrowser({ width: 375, height: 812 }, async (page) => {
    await page.goto(url, { waitUntil: 'load' });
    await uploadAndCheck(page, photo);
    await colourChipsAndOtherColours(page, true);
    const overflow = await horizontalOverflow(page);
    check(overflow <= 0, `nothing is wider than a phone screen (overflow ${overflow} px)`);
    await page.screenshot({ path: path.join(out, 'phone-recommend.png'), fullPage: true });
    await page.screenshot({ path: path.join(out, 'phone-top.png') });
    await page.locator('#outfits .outfit-card').first().screenshot({ path: path.join(out, 'phone-outfit.png') });
    await page.goto(`${url}#/catalog`);
    await page.waitForSelector('#catalog-grid .item-card');
    await loadAllImages(page);
    await page.screenshot({ path: path.join(out, 'phone-catalog.png') });
  });

  const { code, signal } = await stopServer(server);
  server = null;
  check(code === 0, `the server stops cleanly on SIGTERM (exit ${code}${signal ? ', ' + signal : ''})`);
  console.log(`screenshots in ${out}`);
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  if (server) server.kill('SIGKILL');
  rmSync(ws, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
