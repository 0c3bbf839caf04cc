// Browser test of a photo of a person (issue 23): the small real workspace of recommend.test.mjs plus a
// compatibility model and a briefly trained parse model (`mystyle train --model parse --epochs 8 --batch 8`),
// `mystyle serve`, headless chromium (harness.mjs). Uploads a CCP street photo the parse model never
// trained on (0042, in the seeded held-out 20%); checks that the photo is drawn with one outline per
// piece of the API's answer, where the answer puts them, and one button per piece; that choosing another
// piece (its button, the keyboard, or its outline) shows that piece's similar items without a new
// request; that "complete the look" shows the person's own pieces in every look and that "Replace"
// asks for looks with another piece in that slot; at 1280 and 375 px (nothing scrolls sideways, the
// buttons wrap and are at least 44 px high). Screenshots (worn-*.png) go to $MYSTYLE_BROWSER_OUT.
// Exits 77 (skipped) when playwright-core, chromium, MANGO or CCP is absent.
//
// MYSTYLE_WORN_EPOCHS sets the parse model's epochs (default 8): the test asserts that the model sees a
// person in the photo, and at least two pieces the catalog sells, rather than assuming it. 3 epochs
// were not enough (every pixel background: no person). With batches of 16, 8 epochs (325 steps) were not
// always enough either once the studio photos joined the training (CI saw no person on 0042); batches of 8
// (650 steps, the same time) found six pieces on 0042 and a person on 0006, 0008 and 0028 too.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  ccp, check, elementShot, loadAllImages, makeWorkspace, mango, mystyle, out, postPhoto, skip, startServer, stopServer,
  withBrowser,
} from './harness.mjs';

const OUTFITS = 60;
const EPOCHS = Number(process.env.MYSTYLE_WORN_EPOCHS || 8);
const photo = path.join(ccp, 'photos', '0042.jpg');
const garment = path.join(mango, 'images', '2019_41085800_02.jpg');
// What the page sends with a photo (its default settings), sent here directly.
const RECOMMEND = { metric: 'cosine', k: 10, outfits: 9, mode: 'ranked', same_slot: 'false' };
const COMPLETE = { outfits: 3, per_slot: 6 };

if (!existsSync(photo)) skip(`the CCP data set is not at ${ccp}`);

const points = (polygon) => polygon.map(([x, y]) => `${x},${y}`).join(' ');

/** The outlines as drawn: per piece, its polygons' points and their box on the screen. */
function readOutlines(page) {
  return page.$$eval('#piece-outlines .outline', (groups) => groups.map((g) => {
    const shapes = [...g.querySelectorAll('polygon')];
    const rects = shapes.map((s) => s.getBoundingClientRect());
    return {
      index: Number(g.dataset.index), label: g.querySelector('text').textContent, chosen: g.classList.contains('chosen'),
      polygons: shapes.map((s) => s.getAttribute('points')),
      screen: { left: Math.min(...rects.map((r) => r.left)), top: Math.min(...rects.map((r) => r.top)),
        right: Math.max(...rects.map((r) => r.right)), bottom: Math.max(...rects.map((r) => r.bottom)) },
    };
  }));
}

function readChips(page) {
  return page.$$eval('#piece-chips .piece-chip', (chips) => chips.map((b) => {
    const r = b.getBoundingClientRect();
    return { index: Number(b.dataset.index), text: b.textContent, pressed: b.getAttribute('aria-pressed') === 'true',
      disabled: b.getAttribute('aria-disabled') === 'true', title: b.title, tag: b.tagName,
      left: r.left, right: r.right, top: r.top, height: r.height };
  }));
}

/** The similar items shown, by their shop links (one per item). */
function shownSimilar(page) {
  return page.$$eval('#similar .item-card .thumb', (links) => links.map((a) => a.href));
}

/** Where the photo's pixels are on the screen: the image's content box with object-fit: contain. */
function photoOnScreen(page) {
  return page.$eval('#upload-image', (img) => {
    const r = img.getBoundingClientRect();
    const border = parseFloat(getComputedStyle(img).borderLeftWidth) || 0;
    const w = r.width - 2 * border, h = r.height - 2 * border;
    const scale = Math.min(w / img.naturalWidth, h / img.naturalHeight);
    return { left: r.left + border + (w - img.naturalWidth * scale) / 2, top: r.top + border + (h - img.naturalHeight * scale) / 2,
      scale, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight };
  });
}

/** Uploads the photo of a person; checks the outlines, the buttons and the first piece's matches. */
async function uploadAndSeePieces(page, doc, width) {
  await page.setInputFiles('#file-input', photo);
  await page.waitForSelector('#piece-outlines .outline', { timeout: 30000 });
  await page.waitForSelector('#similar .item-card', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#upload-image').naturalWidth > 0);

  const outlines = await readOutlines(page);
  check(outlines.length === doc.pieces.length &&
      doc.pieces.every((p) => {
        const o = outlines.find((d) => d.index === p.index);
        return o && o.polygons.join('|') === p.outline.map(points).join('|');
      }),
    `${width} px: the ${doc.pieces.length} pieces' outlines are drawn, each with the API's polygons`);
  check(await page.getAttribute('#piece-outlines', 'viewBox') === `0 0 ${doc.photo.width} ${doc.photo.height}`,
    `${width} px: the outlines are in the decoded photo's pixels (${doc.photo.width}x${doc.photo.height})`);
  const at = await photoOnScreen(page);
  // photo.width is the decoded photo's (a JPEG may be decoded at a reduced size): scale from its pixels.
  const s = at.scale * at.naturalWidth / doc.photo.width;
  const tolerance = 0.03 * doc.photo.width * s + 2;
  const misplaced = doc.pieces.filter((p) => p.outline.length).filter((p) => {
    const o = outlines.find((d) => d.index === p.index).screen;
    return Math.abs(o.left - (at.left + p.box.x * s)) > tolerance || Math.abs(o.top - (at.top + p.box.y * s)) > tolerance ||
      Math.abs(o.right - (at.left + (p.box.x + p.box.width) * s)) > tolerance ||
      Math.abs(o.bottom - (at.top + (p.box.y + p.box.height) * s)) > tolerance;
  });
  check(misplaced.length === 0, `${width} px: every outline lies on its piece's box in the shown image, scaled ${s.toFixed(2)}x ` +
    `(misplaced: ${misplaced.map((p) => p.class).join(', ') || 'none'})`);
  check(outlines.every((o) => o.label === doc.pieces[o.index].class || o.label.startsWith(`${doc.pieces[o.index].class} `)),
    `${width} px: each outline is labelled with its class (${outlines.map((o) => o.label).join(', ')})`);

  const chips = await readChips(page);
  check(chips.length === doc.pieces.length && chips.every((c, i) => c.tag === 'BUTTON' && c.index === doc.pieces[i].index &&
      c.text.startsWith(doc.pieces[i].class) && c.disabled === !doc.pieces[i].sold && (c.disabled ? /not sold/.test(c.text) : true) && c.title),
    `${width} px: one button per piece, named by class, the unsold greyed with a tooltip (${chips.map((c) => c.text).join(', ')})`);
  check(chips.filter((c) => c.pressed).map((c) => c.index).join() === String(doc.piece),
    `${width} px: the API's chosen piece (${doc.piece}, ${doc.pieces[doc.piece].class}) is the one pressed`);
  const expected = doc.pieces[doc.piece].similar.map((s) => s.shop_url);
  check((await shownSimilar(page)).join() === expected.join() && expected.length > 0,
    `${width} px: the ${expected.length} similar items shown are the chosen piece's`);
  check(await page.getAttribute('#seen-image', 'src') === doc.pieces[doc.piece].cutout_image,
    `${width} px: the chosen piece's cut-out is shown as what was searched`);
  return chips;
}

/** Chooses piece `index` by `how` and checks that its matches are shown, with no request. */
async function choose(page, doc, index, how, requests) {
  const before = requests.length;
  const chip = page.locator(`#piece-chips .piece-chip[data-index="${index}"]`);
  if (how === 'button') {
    await chip.click();
  } else if (how === 'keyboard') {
    await chip.focus();
    await page.keyboard.press('Enter');
  } else {
    // A point of the photo that hits this piece's outline (and not a smaller piece drawn over it).
    const point = await page.$eval(`#piece-outlines .outline[data-index="${index}"]`, (g) => {
      const r = [...g.querySelectorAll('polygon')][0].getBoundingClientRect();
      for (let fy = 0.5, step = 0; step < 400; step++) {
        const fx = ((step * 0.618) % 1), y = r.top + r.height * ((fy + step * 0.0731) % 1);
        const x = r.left + r.width * fx;
        const hit = document.elementFromPoint(x, y);
        if (hit && hit.closest('.outline') === g) return { x, y };
      }
      return null;
    });
    if (!point) throw new Error(`no visible point of piece ${index}'s outline to click`);
    await page.mouse.click(point.x, point.y);
  }
  await page.waitForFunction((i) => document.querySelector(`#piece-chips .piece-chip[data-index="${i}"]`).getAttribute('aria-pressed') === 'true', index);
  const p = doc.pieces[index];
  const shown = await shownSimilar(page);
  const outlines = await readOutlines(page);
  check(shown.join() === p.similar.map((s) => s.shop_url).join() && outlines.filter((o) => o.chosen).map((o) => o.index).join() === String(index) &&
      (await readChips(page)).filter((c) => c.pressed).length === 1,
    `choosing the ${p.class} by ${how} shows its ${shown.length} similar items and highlights its button and outline`);
  check(await page.textContent('#similar-title') === `Similar to your ${p.class}` &&
      await page.locator('#outfits .outfit-card, #outfits .empty').count() === Math.max(1, p.outfits.length),
    `the heading names the ${p.class} and its ${p.outfits.length} outfits are shown`);
  check(requests.length === before, 'choosing a piece asks the server nothing');
}

/** The looks of "complete the look" as shown: the person's pieces ("yours") and the proposed ones. */
function readLooks(page) {
  return page.$$eval('#looks .look', (cards) => cards.map((card) => ({
    yours: [...card.querySelectorAll('.piece.yours')].map((f) => ({ index: Number(f.dataset.piece),
      label: f.querySelector('.piece-label').textContent, src: f.querySelector('img').src, width: f.querySelector('img').naturalWidth })),
    pieces: [...card.querySelectorAll('.look-piece')].map((f) => ({ slot: f.dataset.slot, id: Number(f.dataset.itemId) })),
  })));
}

async function seeWornLooks(page, complete, mode, width) {
  await page.waitForFunction((m) => document.querySelector('#complete').dataset.mode === m &&
    !document.querySelector('#complete-loading').checkVisibility() && document.querySelectorAll('#looks .look, #looks .empty').length > 0,
  mode, { timeout: 30000 });
  await loadAllImages(page);
  const looks = await readLooks(page);
  const kept = complete.pieces.filter((p) => p.role === 'kept').map((p) => p.index);
  check(looks.length === complete.outfits.length && looks.length >= 1,
    `${width} px, ${mode}: the ${complete.outfits.length} looks of the API are shown`);
  check(looks.every((l) => l.yours.map((y) => y.index).join() === kept.join() && l.yours.every((y) => y.width > 0 && y.label.startsWith('Yours'))),
    `${width} px, ${mode}: every look shows the person's own pieces in place (${kept.map((i) => complete.pieces[i].class).join(', ')}), their images loaded`);
  check(looks.every((l) => l.yours.every((y) => y.src.startsWith('data:image/png'))),
    `${width} px, ${mode}: the person's pieces are their cut-outs from the photo`);
  check(looks.every((l, i) => l.pieces.map((p) => `${p.slot}:${p.id}`).join() ===
      complete.outfits[i].pieces.map((p) => `${p.slot}:${p.item.item_id}`).join()),
    `${width} px, ${mode}: each look holds the API's proposed pieces, in their slots`);
  const cards = await page.$$eval('#worn-pieces .worn-piece', (fs) => fs.map((f) => ({ index: Number(f.dataset.index),
    button: f.querySelector('button') ? f.querySelector('button').textContent : null })));
  check(cards.length === complete.pieces.length && cards.every((c, i) => c.index === complete.pieces[i].index &&
      c.button === (complete.pieces[i].role === 'kept' ? 'Replace' : complete.pieces[i].role === 'replaced' ? 'Keep it' : null)),
    `${width} px, ${mode}: what the person wears is listed, each sold piece with its Replace (or Keep it) button`);
  return looks;
}

/* ---------- the test ---------- */

mkdirSync(out, { recursive: true });
const ws = mkdtempSync(path.join(tmpdir(), 'mystyle-browser-worn-'));
let server = null;
let failed = false;
try {
  const t0 = Date.now();
  const items = makeWorkspace(ws, OUTFITS);
  mystyle(ws, 'train', '--model', 'compat', '--epochs', '1', '--threads', '2');
  const t1 = Date.now();
  mystyle(ws, 'train', '--model', 'parse', '--epochs', String(EPOCHS), '--batch', '8', '--threads', '2');
  console.log(`workspace: ${items.length} items from ${OUTFITS} outfits, style and compat models in ${((t1 - t0) / 1000).toFixed(1)} s, ` +
    `parse model (${EPOCHS} epochs) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const started = await startServer(ws);
  server = started.server;
  const url = started.url;

  const doc = await postPhoto(url, 'api/recommend', photo, RECOMMEND);
  const sold = doc.pieces.filter((p) => p.sold);
  check(doc.worn === true && doc.parse.parser === true,
    `the parse model sees a person in ${path.basename(photo)} (worn: ${doc.worn}; if not, train it longer: MYSTYLE_WORN_EPOCHS)`);
  check(sold.length >= 2 && doc.piece !== null,
    `it finds at least two pieces the catalog sells (${doc.pieces.map((p) => `${p.class}${p.sold ? '' : ' (not sold)'}`).join(', ')})`);
  const other = sold.find((p) => p.index !== doc.piece && p.similar.map((s) => s.item_id).join() !== doc.pieces[doc.piece].similar.map((s) => s.item_id).join());
  check(Boolean(other), `another sold piece (${other && other.class}) has other similar items than the chosen ${doc.pieces[doc.piece].class}`);
  const complete = await postPhoto(url, 'api/complete', photo, COMPLETE);
  check(complete.worn === true && complete.mode === 'fill', 'POST /api/complete keeps the person\'s pieces (mode "fill")');
  const replace = await postPhoto(url, 'api/complete', photo, { ...COMPLETE, piece: doc.piece });
  check(replace.mode === 'replace', `POST /api/complete with piece=${doc.piece} replaces it (mode "${replace.mode}")`);
  const plain = await postPhoto(url, 'api/recommend', garment, RECOMMEND);

  await withBrowser({ width: 1280, height: 900 }, async (page) => {
    const requests = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#complete-slot option').length > 1);
    await uploadAndSeePieces(page, doc, 1280);
    await seeWornLooks(page, complete, 'fill', 1280);
    check(await page.locator('#complete-slot-field').isHidden(), 'for a person the "your piece is" slot choice is hidden');
    await choose(page, doc, other.index, 'button', requests);
    await choose(page, doc, doc.piece, 'outline', requests);
    await choose(page, doc, other.index, 'keyboard', requests);
    await loadAllImages(page);
    await page.screenshot({ path: path.join(out, 'worn-desktop.png'), fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));  // else the sticky top bar lands in the element shots
    await elementShot(page, '.upload-card', path.join(out, 'worn-photo-desktop.png'));
    await elementShot(page, '#complete', path.join(out, 'worn-complete-desktop.png'));

    // Replace the API's chosen piece: looks with another piece in its slot, around the rest.
    const replaced = doc.pieces[doc.piece];
    await page.click(`#worn-pieces .worn-piece[data-index="${doc.piece}"] button`);
    const looks = await seeWornLooks(page, replace, 'replace', 1280);
    check(looks.every((l) => l.pieces.every((p) => p.slot === replaced.slot) && l.yours.every((y) => y.index !== doc.piece)),
      `"Replace" on the ${replaced.class} shows looks of other ${replaced.slot} pieces around the person's other pieces`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await elementShot(page, '#complete', path.join(out, 'worn-replace-desktop.png'));
    await page.click(`#worn-pieces .worn-piece[data-index="${doc.piece}"] button`);
    await seeWornLooks(page, complete, 'fill', 1280);

    // A garment alone on the same page: no outlines, no buttons, as before.
    if (!plain.worn) {
      await page.setInputFiles('#file-input', garment);
      // The garment's answer is in when the line under the photo says what it looks like.
      await page.waitForFunction(() => /^Looks like/.test(document.querySelector('#query-meta').textContent) &&
        document.querySelector('#pieces').hidden && document.querySelector('#piece-outlines').hasAttribute('hidden'));
      const shown = await shownSimilar(page);
      const titles = [await page.textContent('#similar-title'), await page.textContent('#seen-caption')];
      check(shown.join() === plain.similar.map((s) => s.shop_url).join() && titles.join() === 'Similar pieces,What the model saw',
        `then a garment alone is shown as before: no outlines or piece buttons, its own similar items (${titles.join(', ')}; ` +
        `${shown.length} shown, ${plain.similar.length} answered)`);
    } else {
      console.log('note: the brief parse model takes the MANGO studio photo for a person; the garment-alone view is left to browser.recommend');
    }
  });

  await withBrowser({ width: 375, height: 812 }, async (page) => {
    const requests = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    const chips = await uploadAndSeePieces(page, doc, 375);
    await seeWornLooks(page, complete, 'fill', 375);
    await choose(page, doc, other.index, 'button', requests);
    await loadAllImages(page);
    const scrollWidth = await page.evaluate(() => document.scrollingElement.scrollWidth);
    check(scrollWidth <= 375, `at 375 px nothing scrolls sideways (scrollWidth ${scrollWidth})`);
    const box = await page.$eval('#piece-chips', (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right }; });
    check(chips.every((c) => c.left >= box.left - 0.5 && c.right <= box.right + 0.5) && chips.every((c) => c.height >= 44),
      `at 375 px the piece buttons wrap inside their row (${new Set(chips.map((c) => Math.round(c.top))).size} rows) and are at least 44 px high`);
    const buttons = await page.$$eval('#worn-pieces button', (bs) => bs.map((b) => b.getBoundingClientRect().height));
    check(buttons.length > 0 && buttons.every((h) => h >= 44), `at 375 px the Replace buttons are at least 44 px high (${buttons.map(Math.round).join(', ')})`);
    const clipped = await page.$$eval('#looks .look-collage, #worn-pieces', (cs) => cs.filter((c) => c.scrollWidth > c.clientWidth).length);
    check(clipped === 0, 'at 375 px the looks and the worn pieces wrap inside their cards');
    await page.screenshot({ path: path.join(out, 'worn-phone.png'), fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));  // else the sticky top bar lands in the element shots
    await elementShot(page, '.upload-card', path.join(out, 'worn-photo-phone.png'));
    await elementShot(page, '#complete', path.join(out, 'worn-complete-phone.png'));
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
