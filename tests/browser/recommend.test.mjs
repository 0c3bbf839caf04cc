// Browser test of the web app: a small real workspace made with the mystyle CLI, `mystyle serve` on a
// free loopback port, Debian's chromium driven headless by playwright-core. Uploads a MANGO photo,
// checks that the similar items and at least one outfit render, that a bad file gets a clear
// message, and takes desktop (1280 wide) and phone (390 wide) screenshots into $MYSTYLE_BROWSER_OUT.
//
// Environment: MYSTYLE_BIN (the mystyle binary), MYSTYLE_BROWSER_OUT (screenshot folder),
// MYSTYLE_DATASETS (or MYSTYLE_DATASETS_DEFAULT), MYSTYLE_CHROMIUM (default /usr/bin/chromium).
// Exits 77 (skipped) when playwright-core, chromium or the MANGO data set is absent.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.MYSTYLE_BIN || path.join(root, 'build/release/src/cli/mystyle');
const out = process.env.MYSTYLE_BROWSER_OUT || path.join(root, 'build/browser');
const datasets = process.env.MYSTYLE_DATASETS || process.env.MYSTYLE_DATASETS_DEFAULT || path.join(root, '../shared/datasets');
const chromiumPath = process.env.MYSTYLE_CHROMIUM || '/usr/bin/chromium';
const mango = path.join(datasets, 'mango');
const OUTFITS = 60;

function skip(why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(SKIP);
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip('playwright-core is not installed: run `npm ci` in the repository root');
}
if (!existsSync(chromiumPath)) skip(`${chromiumPath} not found: install Debian's chromium (scripts/install-deps test)`);
if (!existsSync(path.join(mango, 'product_data.csv'))) skip(`the MANGO data set is not at ${mango}`);
if (!existsSync(bin)) throw new Error(`mystyle binary not found at ${bin} (set MYSTYLE_BIN)`);

/* ---------- a small workspace: the first OUTFITS MANGO outfits and their products ---------- */

/** RFC 4180 rows (MANGO quotes every field). */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}
const q = (s) => `"${String(s).replaceAll('"', '""')}"`;

function makeWorkspace(ws) {
  const [outfitHead, ...outfitRows] = parseCsv(readFileSync(path.join(mango, 'outfit_data.csv'), 'utf8'));
  const cOutfit = outfitHead.indexOf('cod_outfit'), cMember = outfitHead.indexOf('cod_modelo_color');
  const members = [];
  const outfits = new Set();
  for (const r of outfitRows) {
    if (!outfits.has(r[cOutfit]) && outfits.size === OUTFITS) break;
    outfits.add(r[cOutfit]);
    members.push([r[cOutfit], r[cMember]]);
  }
  const wanted = new Set(members.map((m) => m[1]));
  const [head, ...products] = parseCsv(readFileSync(path.join(mango, 'product_data.csv'), 'utf8'));
  const col = (name) => head.indexOf(name);
  let items = 'id,name,category,family,type,colour,url,image\n';
  const known = new Set();
  for (const p of products) {
    const id = p[col('cod_modelo_color')];
    if (!wanted.has(id)) continue;
    known.add(id);
    const image = path.join(mango, 'images', path.basename(p[col('des_filename')]));
    const type = p[col('des_product_type')], colour = p[col('des_agrup_color_eng')];
    items += [id, q(`${type}, ${colour}`), q(p[col('des_product_category')]), q(p[col('des_product_family')]), q(type),
      q(colour), `https://shop.mango.com/search?kw=${id}`, q(image)].join(',') + '\n';
  }
  let outfitCsv = 'outfit_id,item_id\n';
  for (const [o, id] of members) if (known.has(id)) outfitCsv += `${o},${id}\n`;
  writeFileSync(path.join(ws, 'items.csv'), items);
  writeFileSync(path.join(ws, 'outfits.csv'), outfitCsv);
  const run = (...args) => execFileSync(bin, [...args, '--workspace', ws], { stdio: ['ignore', 'ignore', 'inherit'] });
  run('import', 'csv', '--items', path.join(ws, 'items.csv'), '--outfits', path.join(ws, 'outfits.csv'), '--source', 'mango');
  run('train', '--epochs', '1', '--batch', '16', '--threads', '2');
  run('embed', '--threads', '2');
  return [...known];
}

/* ---------- the server ---------- */

function startServer(ws) {
  return new Promise((resolve, reject) => {
    const server = spawn(bin, ['serve', '--workspace', ws, '--port', '0', '--threads', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`server did not print its URL:\n${text}`)), 60000);
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) { clearTimeout(timer); resolve({ server, url: m[1] }); }
    });
    server.stderr.on('data', (chunk) => { text += chunk; });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${text}`)); });
  });
}

function stopServer(server) {
  return new Promise((resolve) => {
    server.removeAllListeners('exit');
    server.on('exit', (code, signal) => resolve({ code, signal }));
    server.kill('SIGTERM');
  });
}

/* ---------- the browser ---------- */

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];

async function withBrowser(viewport, body) {
  const profile = mkdtempSync(path.join(tmpdir(), 'mystyle-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, args: FLAGS, viewport,
    isMobile: viewport.width < 500, hasTouch: viewport.width < 500, deviceScaleFactor: viewport.width < 500 ? 2 : 1,
  });
  const problems = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
    await body(page);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) throw new Error(problems.join('\n'));
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

/** Makes lazy images load now (a screenshot shows the whole page) and waits for all of them. */
async function loadAllImages(page) {
  await page.evaluate(() => { for (const img of document.querySelectorAll('img[loading=lazy]')) img.loading = 'eager'; });
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 30000 });
}

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
  await loadAllImages(page);
  const broken = await page.evaluate(() => [...document.images].filter((i) => i.src && i.naturalWidth === 0).map((i) => i.src));
  check(broken.length === 0, `every image loads (${broken.join(', ') || 'none broken'})`);
}

/* ---------- the test ---------- */

mkdirSync(out, { recursive: true });
const ws = mkdtempSync(path.join(tmpdir(), 'mystyle-browser-ws-'));
let server = null;
let failed = false;
try {
  const t0 = Date.now();
  const items = makeWorkspace(ws);
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

  await withBrowser({ width: 390, height: 844 }, async (page) => {
    await page.goto(url, { waitUntil: 'load' });
    await uploadAndCheck(page, photo);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
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
