// What the browser tests share: their environment, a small real workspace made with the mystyle CLI,
// `mystyle serve` on a free loopback port, and Debian's chromium driven headless by playwright-core.
//
// Environment: MYSTYLE_BIN (the mystyle binary), MYSTYLE_BROWSER_OUT (screenshot folder),
// MYSTYLE_DATASETS (or MYSTYLE_DATASETS_DEFAULT), MYSTYLE_CHROMIUM (default /usr/bin/chromium).
// Importing it exits 77 (skipped) when playwright-core, chromium or the MANGO data set is absent.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = process.env.MYSTYLE_BIN || path.join(root, 'build/release/src/cli/mystyle');
export const out = process.env.MYSTYLE_BROWSER_OUT || path.join(root, 'build/browser');
const datasets = process.env.MYSTYLE_DATASETS || process.env.MYSTYLE_DATASETS_DEFAULT || path.join(root, '../shared/datasets');
const chromiumPath = process.env.MYSTYLE_CHROMIUM || '/usr/bin/chromium';
export const mango = path.join(datasets, 'mango');
/** CCP (street photos of people, labelled per pixel): what `mystyle train --model parse` learns from. */
export const ccp = path.join(datasets, 'ccp');

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

/** Exits 77 (skipped) with a reason: for what a single test needs beyond the above. */
export { skip };

/* ---------- a small workspace: the first `outfitCount` MANGO outfits and their products ---------- */

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

/** Runs `mystyle ARGS --workspace ws`, its messages on stderr. */
export function mystyle(ws, ...args) {
  execFileSync(bin, [...args, '--workspace', ws], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Imports the first `outfitCount` MANGO outfits into `ws`, trains the style model one epoch and embeds
 * every item. Returns the product ids imported. */
export function makeWorkspace(ws, outfitCount) {
  const [outfitHead, ...outfitRows] = parseCsv(readFileSync(path.join(mango, 'outfit_data.csv'), 'utf8'));
  const cOutfit = outfitHead.indexOf('cod_outfit'), cMember = outfitHead.indexOf('cod_modelo_color');
  const members = [];
  const outfits = new Set();
  for (const r of outfitRows) {
    if (!outfits.has(r[cOutfit]) && outfits.size === outfitCount) break;
    outfits.add(r[cOutfit]);
    members.push([r[cOutfit], r[cMember]]);
  }
  const wanted = new Set(members.map((m) => m[1]));
  const [head, ...products] = parseCsv(readFileSync(path.join(mango, 'product_data.csv'), 'utf8'));
  const col = (name) => head.indexOf(name);
  let items = 'id,name,category,family,type,colour,url,image,colour_name\n';
  const known = new Set();
  for (const p of products) {
    const id = p[col('cod_modelo_color')];
    if (!wanted.has(id)) continue;
    known.add(id);
    const image = path.join(mango, 'images', path.basename(p[col('des_filename')]));
    const type = p[col('des_product_type')], colour = p[col('des_agrup_color_eng')];
    items += [id, q(`${type}, ${colour}`), q(p[col('des_product_category')]), q(p[col('des_product_family')]), q(type),
      q(colour), `https://shop.mango.com/search?kw=${id}`, q(image), q(p[col('des_color_specification_esp')])].join(',') + '\n';
  }
  let outfitCsv = 'outfit_id,item_id\n';
  for (const [o, id] of members) if (known.has(id)) outfitCsv += `${o},${id}\n`;
  writeFileSync(path.join(ws, 'items.csv'), items);
  writeFileSync(path.join(ws, 'outfits.csv'), outfitCsv);
  mystyle(ws, 'import', 'csv', '--items', path.join(ws, 'items.csv'), '--outfits', path.join(ws, 'outfits.csv'), '--source', 'mango',
    '--images-root', path.join(mango, 'images'));
  mystyle(ws, 'train', '--epochs', '1', '--batch', '16', '--threads', '2');
  mystyle(ws, 'embed', '--threads', '2');
  return [...known];
}

/* ---------- the server ---------- */

/** `mystyle serve` on a free loopback port: resolves to { server, url, log } once it prints its URL. */
export function startServer(ws) {
  return new Promise((resolve, reject) => {
    const server = spawn(bin, ['serve', '--workspace', ws, '--port', '0', '--threads', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`server did not print its URL:\n${text}`)), 60000);
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) { clearTimeout(timer); resolve({ server, url: m[1], log: () => text }); }
    });
    server.stderr.on('data', (chunk) => { text += chunk; });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${text}`)); });
  });
}

export function stopServer(server) {
  return new Promise((resolve) => {
    server.removeAllListeners('exit');
    server.on('exit', (code, signal) => resolve({ code, signal }));
    server.kill('SIGTERM');
  });
}

/* ---------- the browser ---------- */

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];

/** Runs `body(page)` in a fresh headless chromium profile; fails on any page error or console error
 * (but the 4xx answers a test provokes on purpose). */
export async function withBrowser(viewport, body) {
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

export function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

/** Makes lazy images load now (a screenshot shows the whole page) and waits for all of them. The wait is
 * long because it is not a speed check: under `ctest -j2` beside the MANGO tests, 30 s once ran out. */
export async function loadAllImages(page) {
  // Lazy images are made eager at every poll: a part of the page rendered after the first poll (the
  // similar items arriving after the looks) would otherwise keep lazy images off screen that never load.
  await page.waitForFunction(() => {
    for (const img of document.querySelectorAll('img[loading=lazy]')) img.loading = 'eager';
    return [...document.images].every((i) => i.complete);
  }, null, { timeout: 120000, polling: 250 });
}

/** Pixels the document is wider than the window (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** A picture of one element from a full-page capture (an element screenshot would show the sticky top
 * bar over the element wherever the capture scrolled). */
export async function elementShot(page, selector, file) {
  const box = await page.locator(selector).evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
  });
  await page.screenshot({ path: file, fullPage: true, clip: box });
}

/** POSTs `photo` (a file path) to `route` (`api/recommend`, `api/complete`) as the page does, with
 * `fields` as form fields; resolves to the JSON answer, throws on any other status than 200. */
export async function postPhoto(url, route, photo, fields = {}) {
  const form = new FormData();
  form.append('image', new Blob([readFileSync(photo)], { type: 'image/jpeg' }), path.basename(photo));
  for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
  const response = await fetch(new URL(route, url), { method: 'POST', body: form });
  if (response.status !== 200) throw new Error(`POST /${route}: ${response.status} ${await response.text()}`);
  return response.json();
}
