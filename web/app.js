// My Style Manager web app: plain JavaScript over the JSON API (docs/api.md). No framework.
'use strict';

const $ = (selector, root = document) => root.querySelector(selector);

/** fetch + JSON; throws an Error carrying the server's {"error": ...} message. */
async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error('The server could not be reached. Is `mystyle serve` still running?');
  }
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error((body && body.error) || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function show(el, visible) { el.hidden = !visible; }

/** A catalog picture; when the item has none (or it fails to load), a neutral placeholder instead. */
function picture(img, url, alt) {
  img.alt = alt;
  img.addEventListener('error', () => img.classList.add('no-photo'), { once: true });
  if (url) img.src = url; else img.classList.add('no-photo');
}
/** GET /api/model, fetched once (the model page and the "complete the look" switch share it). */
let modelRequest = null;
function modelDoc() {
  if (!modelRequest) modelRequest = api('/api/model').catch((e) => { modelRequest = null; throw e; });
  return modelRequest;
}
function titleCase(text) { return (text || '').toLowerCase().replace(/(^|[\s,/-])\S/g, (m) => m.toUpperCase()); }
function slotLabel(slot) { return (slot || '').replace('_', ' '); }

/* ---------- navigation ---------- */

const views = ['recommend', 'catalog', 'model'];
const loaded = { catalog: false, model: false };

function route() {
  const name = location.hash.replace(/^#\/?/, '') || 'recommend';
  const view = views.includes(name) ? name : 'recommend';
  for (const v of views) show($(`#view-${v}`), v === view);
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.view === view);
  if (view === 'catalog' && !loaded.catalog) { loaded.catalog = true; loadCatalog(); }
  if (view === 'model' && !loaded.model) { loaded.model = true; loadModel(); }
}

/* ---------- shared item card ---------- */

/** An item's colour as a shopper reads it: its family, with the shop's own colour name when that says more
 *  ("Black (Negro)"); the shop's name or MANGO's colour group when the family is unknown. */
function colourText(item) {
  const family = item.colour_family || '';
  const name = item.colour_name || '';
  if (family && name && name.toLowerCase() !== family) return `${titleCase(family)} (${titleCase(name)})`;
  return titleCase(family || name || item.colour);
}

function itemCard(item, { rank, relevance, score, distance, matchedView, match } = {}) {
  const node = $('#item-card').content.firstElementChild.cloneNode(true);
  const thumb = $('.thumb', node);
  const img = $('img', node);
  picture(img, item.image_url, item.name || item.type || 'catalog item');
  thumb.href = item.shop_url || item.image_url || '#';
  $('.rank', node).textContent = rank ? `#${rank}` : item.source_id;
  $('.slot-chip', node).textContent = slotLabel(item.slot);
  $('.item-name', node).textContent = titleCase(item.type || item.name);
  const colour = colourText(item);
  const colourLine = $('.item-colour', node);
  show(colourLine, Boolean(colour));
  colourLine.dataset.family = item.colour_family || '';
  $('.swatch', colourLine).dataset.family = item.colour_family || '';
  $('.colour-text', colourLine).textContent = colour;
  colourLine.title = item.colour && item.colour_family ? `colour family ${item.colour_family}; the shop's colour group: ${item.colour}` : '';
  $('.item-meta', node).textContent = [item.category, rank ? item.source_id : ''].filter(Boolean).join(' · ');
  if (relevance !== undefined) {
    const s = $('.score', node);
    show(s, true);
    const pct = Math.max(0, Math.min(1, relevance)) * 100;
    $('.bar span', s).style.width = `${pct.toFixed(1)}%`;
    // Scores of a weak model crowd near 1: show the metric's own number, with enough digits to differ.
    $('.score-text', s).textContent = distance !== undefined ? `d ${Number(distance).toFixed(3)}`
      : score === null ? 'identical' : Number(score).toFixed(3);
    s.title = `relevance ${pct.toFixed(1)}% (0-100 scale used to rank outfits)` +
      (matchedView && matchedView !== 'photo' ? `; matched a ${matchedView} view of the catalog photo` : '');
    if (matchedView && matchedView !== 'photo') $('.score-text', s).textContent += ` · ${matchedView}`;
    if (match) {
      // A calibrated strength: where the score falls among the catalog's own same-type pairs.
      const closer = Math.round(match.same_type_percentile * 100);
      $('.bar span', s).style.width = `${closer}%`;
      s.classList.add(`match-${match.label.replace(' ', '-')}`);
      $('.score-text', s).textContent = `${match.label} · ${$('.score-text', s).textContent}`;
      s.title = `closer than ${closer}% of same-type pairs in the catalog and ` +
        `${(match.random_percentile * 100).toFixed(1)}% of random pairs (cosine ${Number(score).toFixed(3)})` +
        (matchedView && matchedView !== 'photo' ? `; matched a ${matchedView} view of the catalog photo` : '');
    }
  }
  const shop = $('.shop', node);
  if (item.shop_url) shop.href = item.shop_url; else shop.remove();
  const find = $('.find-similar', node);
  if (item.image_url) find.addEventListener('click', () => findSimilarTo(item)); else find.remove();
  const others = $('.other-colours', node);
  if (item.item_id !== undefined) {
    others.title = `${titleCase(item.type || item.name)} in other colours`;
    others.addEventListener('click', () => openColours(item));
  } else {
    others.remove();
  }
  return node;
}

/* ---------- ask by colour ---------- */

const FAMILIES = ['black', 'white', 'grey', 'beige', 'brown', 'metallic', 'blue', 'green', 'yellow', 'orange', 'red',
  'pink', 'purple', 'multi'];
// The colour asked of recommend and complete ('' = any), and the chips of the last answer asked in any colour.
const colourState = { family: '', chips: [] };

function colourChip(family, label, pressed, onClick, count) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'colour-chip';
  b.dataset.family = family;
  b.setAttribute('aria-pressed', String(pressed));
  if (family) {
    const swatch = document.createElement('i');
    swatch.className = 'swatch';
    swatch.dataset.family = family;
    swatch.setAttribute('aria-hidden', 'true');
    b.append(swatch);
  }
  const text = document.createElement('span');
  text.textContent = label;
  b.append(text);
  if (count) {
    const n = document.createElement('span');
    n.className = 'count';
    n.textContent = String(count);
    b.append(n);
  }
  b.addEventListener('click', onClick);
  return b;
}

/** The colour chips over the similar pieces: from an answer in any colour, the families among its items,
 *  the photo's own family (query.colour_family, when the server names it) first, then the most common. */
function drawColourChips(items, ownFamily) {
  if (!colourState.family) {
    const count = new Map();
    for (const item of items) if (item.colour_family) count.set(item.colour_family, (count.get(item.colour_family) || 0) + 1);
    const families = [...count.keys()].sort((a, b) => (count.get(b) - count.get(a)) || FAMILIES.indexOf(a) - FAMILIES.indexOf(b));
    if (ownFamily && FAMILIES.includes(ownFamily)) {
      const at = families.indexOf(ownFamily);
      if (at >= 0) families.splice(at, 1);
      families.unshift(ownFamily);
    }
    colourState.chips = families.map((f) => ({ family: f, count: count.get(f) || 0 }));
  } else if (!colourState.chips.some((c) => c.family === colourState.family)) {
    colourState.chips.push({ family: colourState.family, count: 0 });
  }
  const ask = (family) => {
    if (family === colourState.family) return;
    colourState.family = family;
    runQuery();
    runComplete();
  };
  const chips = [colourChip('', 'Any colour', !colourState.family, () => ask(''))];
  for (const c of colourState.chips) {
    chips.push(colourChip(c.family, titleCase(c.family), c.family === colourState.family, () => ask(c.family), colourState.family ? 0 : c.count));
  }
  $('#colour-chips').replaceChildren(...chips);
  show($('#colour-chips'), colourState.chips.length > 0);
}

let coloursSequence = 0;

/** "This piece in other colours": its design's other colours, then the nearest of its type in `family`
 *  (default: any colour but its own), in a dialog. */
async function openColours(item, family = '') {
  const dialog = $('#colours-dialog');
  const mine = ++coloursSequence;
  $('#colours-title').textContent = `${titleCase(item.type || item.name)} ${item.source_id || ''} in other colours`;
  const chips = [colourChip('', 'Any other colour', !family, () => openColours(item, ''))];
  for (const f of FAMILIES) {
    if (f !== item.colour_family) chips.push(colourChip(f, titleCase(f), f === family, () => openColours(item, f)));
  }
  $('#colours-chips').replaceChildren(...chips);
  if (!dialog.open) dialog.showModal();
  setError($('#colours-error'), '');
  const params = new URLSearchParams({ k: '8' });
  if (family) params.set('colour', family);
  try {
    const doc = await api(`/api/items/${item.item_id}/colours?${params}`);
    if (mine !== coloursSequence) return;
    const card = (m) => itemCard(m, m.score === null ? {} : { rank: m.rank, relevance: m.score, score: m.score });
    $('#colours-design').replaceChildren(...doc.same_design.map(card));
    if (!doc.same_design.length) $('#colours-design').replaceChildren(emptyNote('The catalog has no other colour of this design.'));
    $('#colours-nearest-title').textContent = `Nearest ${titleCase(doc.item.type || 'pieces')} of other designs in ${family ? titleCase(family) : 'other colours'}`;
    $('#colours-nearest').replaceChildren(...doc.nearest.map(card));
    if (!doc.nearest.length) $('#colours-nearest').replaceChildren(emptyNote('Nothing of this type in that colour.'));
  } catch (e) {
    if (mine !== coloursSequence) return;
    $('#colours-design').replaceChildren();
    $('#colours-nearest').replaceChildren();
    setError($('#colours-error'), e.message);
  }
}

function setUpColours() {
  const dialog = $('#colours-dialog');
  $('#colours-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });  // the backdrop
}

/* ---------- recommend ---------- */

let current = null;  // { blob, name }
let sequence = 0;    // answers to older queries are dropped

const controls = $('#controls');

function setError(el, message) {
  el.textContent = message || '';
  show(el, Boolean(message));
}

function useFile(blob, name) {
  if (!blob) return;
  current = { blob, name: name || blob.name || 'photo' };
  const preview = $('#upload-image');
  if (preview.dataset.url) URL.revokeObjectURL(preview.dataset.url);
  preview.dataset.url = URL.createObjectURL(blob);
  preview.src = preview.dataset.url;
  $('#seen-image').removeAttribute('src');
  pieceState.doc = null;
  pieceState.selected = null;
  colourState.family = '';
  colourState.chips = [];
  clearPieces();
  show($('#preview'), true);
  runQuery();
  runComplete();
}

async function runQuery() {
  if (!current) return;
  const mine = ++sequence;
  const form = new FormData();
  form.append('image', current.blob, current.name);
  const data = new FormData(controls);
  for (const key of ['metric', 'k', 'outfits', 'mode', 'category']) {
    const value = data.get(key);
    if (value) form.append(key, value);
  }
  form.append('same_slot', data.get('same_slot') ? 'true' : 'false');
  if (colourState.family) form.append('colour', colourState.family);
  setError($('#error'), '');
  show($('#loading'), true);
  try {
    const doc = await api('/api/recommend', { method: 'POST', body: form });
    if (mine !== sequence) return;
    renderResult(doc);
  } catch (e) {
    if (mine !== sequence) return;
    show($('#results'), false);
    show($('#query-meta'), false);
    show($('#preview'), false);
    clearPieces();
    setError($('#error'), e.message);
  } finally {
    if (mine === sequence) show($('#loading'), false);
  }
}

function renderResult(doc) {
  if (doc.worn) { renderWorn(doc); return; }
  clearPieces();
  showNote(null, false);  // a garment alone looks as it did (its only note: no parse model in the workspace)
  const q = doc.query;
  if (q.seen_image) $('#seen-image').src = q.seen_image;
  const t = doc.timings_ms;
  const meta = $('#query-meta');
  meta.textContent = `Looks like: ${slotLabel(q.slot) || 'unknown'}` +
    (q.background_painted ? ' · busy background painted out' : '') +
    ` · answered in ${t.total.toFixed(0)} ms ` +
    `(decode ${t.decode_preprocess.toFixed(1)}, encode ${t.encode.toFixed(1)}, search ${t.search.toFixed(1)}, outfits ${t.outfits.toFixed(1)})`;
  show(meta, true);
  renderMatches(doc.similar, doc.outfits, q.metric, q.colour_family);
}

function emptyNote(text) {
  const p = document.createElement('p');
  p.className = 'empty';
  p.textContent = text;
  return p;
}

/* ---------- a photo of a person: its pieces ---------- */

// The /api/recommend answer for the photo shown (pieces[] carries every piece's matches, so choosing
// another piece asks the server nothing) and the piece whose matches are shown.
const pieceState = { doc: null, selected: null };
const PIECE_COLOURS = ['#e6194b', '#2f8f5b', '#4363d8', '#d9822b', '#911eb4', '#0e8a9a', '#c2185b', '#8a5a16', '#5b6b00', '#1f2a44'];
const SVG_NS = 'http://www.w3.org/2000/svg';

function pieceColour(index) { return PIECE_COLOURS[index % PIECE_COLOURS.length]; }

/** A piece's name on the page: its garment class ("top", "shoes"), numbered when the photo has two. */
function pieceName(pieces, p) {
  const name = p.class || slotLabel(p.slot) || 'piece';
  const same = pieces.filter((o) => (o.class || slotLabel(o.slot) || 'piece') === name);
  return same.length > 1 ? `${name} ${same.indexOf(p) + 1}` : name;
}

/** The note of an answer ("a person, but no garment the catalog sells: ...", "no parsing model ..."):
 * a notice for a person's photo, a quiet line for a garment alone. */
function showNote(note, prominent) {
  const el = $('#photo-note');
  // The server quotes commands in backticks: shown as code.
  el.replaceChildren(...sentence(note || '').split('`').map((part, i) => {
    if (i % 2 === 0) return part;
    const code = document.createElement('code');
    code.textContent = part;
    return code;
  }));
  el.classList.toggle('muted', !prominent);
  el.classList.toggle('small', !prominent);
  el.classList.toggle('notice', prominent);
  show(el, Boolean(note));
}

/** Back to a garment alone: no outlines, no chips, the captions of a garment. */
function clearPieces() {
  $('#piece-outlines').toggleAttribute('hidden', true);  // an SVG element has no `hidden` property
  $('#piece-outlines').replaceChildren();
  show($('#pieces'), false);
  $('#piece-chips').replaceChildren();
  $('#preview').classList.remove('worn');
  $('#upload-caption').textContent = 'Your photo';
  $('#seen-caption').textContent = 'What the model saw';
  $('#seen-image').classList.add('pixelated');
  show($('#seen-image').closest('figure'), true);
  $('#similar-title').textContent = 'Similar pieces';
  show($('#photo-note'), false);
}

function renderWorn(doc) {
  pieceState.doc = doc;
  const keep = pieceState.selected;
  pieceState.selected = keep !== null && doc.pieces[keep] && doc.pieces[keep].sold ? keep : doc.piece;
  $('#preview').classList.add('worn');
  $('#upload-caption').textContent = `Your photo: ${doc.pieces.length} piece${doc.pieces.length === 1 ? '' : 's'} found`;
  drawOutlines(doc);
  drawChips(doc);
  showNote(doc.note, true);
  refreshYours();
  if (pieceState.selected === null) {  // a person, but nothing the catalog sells
    show($('#seen-image').closest('figure'), false);
    const t = doc.timings_ms || {};
    $('#query-meta').textContent = `A person · answered in ${(t.pieces_total || 0).toFixed(0)} ms`;
    show($('#query-meta'), true);
    show($('#results'), false);
    return;
  }
  showPiece(pieceState.selected);
}

/** Each piece's outline over the photo: the SVG's viewBox is the decoded photo's pixels and it covers
 * the image's box with the same "contain" fit, so the outlines land on the pieces at any size. */
function drawOutlines(doc) {
  const svg = $('#piece-outlines');
  const { width, height } = doc.photo;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Outlines of the pieces: ${doc.pieces.map((p) => pieceName(doc.pieces, p)).join(', ') || 'none'}`);
  const font = Math.max(10, Math.round(Math.max(width, height) * 0.034));
  svg.style.setProperty('--label-size', `${font}px`);
  const groups = doc.pieces.map((p) => {
    const g = document.createElementNS(SVG_NS, 'g');
    g.setAttribute('class', p.sold ? 'outline' : 'outline unsold');
    g.dataset.index = String(p.index);
    g.style.setProperty('--piece', pieceColour(p.index));
    const title = document.createElementNS(SVG_NS, 'title');
    const name = pieceName(doc.pieces, p);
    title.textContent = p.sold ? `Your ${name}: show its matches` : `Your ${name}: not sold here`;
    g.append(title);
    for (const polygon of p.outline) {
      const shape = document.createElementNS(SVG_NS, 'polygon');
      shape.setAttribute('points', polygon.map(([x, y]) => `${x},${y}`).join(' '));
      g.append(shape);
    }
    const label = document.createElementNS(SVG_NS, 'text');
    label.setAttribute('x', String(Math.max(0, Math.min(p.box.x + font * 0.3, width - font * name.length * 0.6))));
    label.setAttribute('y', String(Math.max(font, p.box.y + font * 1.05)));
    label.textContent = name;
    g.append(label);
    g.addEventListener('click', () => choosePiece(p.index));
    return g;
  });
  // Smaller pieces last, so that they sit above (and stay clickable over) the larger ones.
  groups.sort((a, b) => doc.pieces[Number(b.dataset.index)].share - doc.pieces[Number(a.dataset.index)].share);
  svg.replaceChildren(...groups);
  svg.toggleAttribute('hidden', doc.pieces.length === 0);
}

function drawChips(doc) {
  const chips = doc.pieces.map((p) => {
    const name = pieceName(doc.pieces, p);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = p.sold ? 'piece-chip' : 'piece-chip unsold';
    b.dataset.index = String(p.index);
    b.style.setProperty('--piece', pieceColour(p.index));
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.setAttribute('aria-hidden', 'true');
    const text = document.createElement('span');
    text.textContent = name;
    b.append(swatch, text);
    if (p.sold) {
      b.title = `Show the catalog pieces like your ${name}`;
    } else {
      const why = document.createElement('span');
      why.className = 'chip-note';
      why.textContent = 'not sold';
      b.append(why);
      b.setAttribute('aria-disabled', 'true');
      b.title = `The catalog sells no ${p.slot ? slotLabel(p.slot) : name}: nothing to match`;
    }
    b.addEventListener('click', () => choosePiece(p.index));
    return b;
  });
  $('#piece-chips').replaceChildren(...chips);
  const unsold = doc.pieces.filter((p) => !p.sold).map((p) => pieceName(doc.pieces, p));
  const line = $('#pieces-unsold');
  line.textContent = unsold.length ? `Not sold here, so not searched: ${unsold.join(', ')}.` : '';
  show(line, unsold.length > 0);
  show($('#pieces'), doc.pieces.length > 0);
}

function choosePiece(index) {
  const doc = pieceState.doc;
  if (!doc || !doc.pieces[index]) return;
  if (!doc.pieces[index].sold) {
    const line = $('#pieces-unsold');
    line.classList.remove('flash');
    void line.offsetWidth;  // restarts the animation
    line.classList.add('flash');
    return;
  }
  showPiece(index);
}

/** The matches of piece `index`, from the answer already here. */
function showPiece(index) {
  const doc = pieceState.doc;
  const p = doc.pieces[index];
  pieceState.selected = index;
  const name = pieceName(doc.pieces, p);
  for (const b of document.querySelectorAll('#piece-chips .piece-chip')) {
    b.setAttribute('aria-pressed', String(Number(b.dataset.index) === index));
  }
  for (const g of document.querySelectorAll('#piece-outlines .outline')) g.classList.toggle('chosen', Number(g.dataset.index) === index);
  $('#preview').dataset.piece = String(index);

  const seen = $('#seen-image');
  const image = p.cutout_image || (p.chosen ? doc.query.seen_image : '');
  if (image) seen.src = image; else seen.removeAttribute('src');
  seen.classList.remove('pixelated');
  seen.alt = `Your ${name}, cut out of the photo as it was searched`;
  $('#seen-caption').textContent = `Your ${name}, as searched`;
  show(seen.closest('figure'), true);

  const t = doc.timings_ms || {};
  $('#query-meta').textContent = `Showing your ${name}` + (p.slot && slotLabel(p.slot) !== name ? ` (searched as ${slotLabel(p.slot)})` : '') +
    ` · ${doc.pieces.length} piece${doc.pieces.length === 1 ? '' : 's'} found in ${(t.parse || 0).toFixed(0)} ms` +
    ` · answered in ${(t.pieces_total || 0).toFixed(0)} ms`;
  show($('#query-meta'), true);

  $('#similar-title').textContent = `Similar to your ${name}`;
  const metric = (doc.query && doc.query.metric) || controls.elements.metric.value;
  renderMatches(p.similar, p.outfits, metric, p.chosen ? doc.query.colour_family : '');
}

/** The similar items and outfits of one search (a garment's, or one piece's). */
function renderMatches(similarItems, outfitList, metric, ownFamily = '') {
  drawColourChips(similarItems, ownFamily);
  const similar = $('#similar');
  similar.replaceChildren(...similarItems.map((s) => itemCard(s, { rank: s.rank, relevance: s.relevance, score: s.score, distance: s.distance, matchedView: s.matched_view, match: s.match })));
  $('#similar-count').textContent = `${similarItems.length} by ${metric}` + (colourState.family ? `, ${colourState.family} only` : '');
  if (!similarItems.length) similar.replaceChildren(emptyNote('No catalog item matches these settings.'));

  const outfits = $('#outfits');
  outfits.replaceChildren(...outfitList.map(outfitCard));
  $('#outfit-count').textContent = outfitList.length ? `${outfitList.length} shown` : '';
  if (!outfitList.length) outfits.replaceChildren(emptyNote('None of the similar pieces appears in an outfit. Try more similar items or another category.'));
  show($('#results'), true);
}

function piece(item, label, matchedRank) {
  const matched = matchedRank !== undefined;
  const a = document.createElement('a');
  a.className = matched ? 'piece matched' : 'piece';
  if (item.shop_url) { a.href = item.shop_url; a.target = '_blank'; a.rel = 'noopener'; }
  a.title = `${titleCase(item.type || item.name)}${colourText(item) ? ', ' + colourText(item) : ''} (${item.source_id})`;
  const img = document.createElement('img');
  img.loading = 'lazy';
  picture(img, item.image_url, a.title);
  a.append(img);
  const tag = document.createElement('span');
  tag.className = 'piece-label';
  tag.textContent = label;
  a.append(tag);
  if (matched) {
    const badge = document.createElement('span');
    badge.className = 'piece-rank';
    badge.textContent = `#${matchedRank}`;
    badge.title = `similar item #${matchedRank}`;
    a.append(badge);
  }
  return a;
}

function outfitCard(o) {
  const card = document.createElement('article');
  card.className = 'card outfit-card';
  const head = document.createElement('div');
  head.className = 'outfit-head';
  const h = document.createElement('h3');
  h.textContent = `Outfit ${o.rank}`;
  const id = document.createElement('span');
  id.className = 'muted small';
  id.textContent = `#${o.source_id}${o.score ? ' · score ' + o.score.toFixed(2) : ''}`;
  head.append(h, id);

  const why = document.createElement('p');
  why.className = 'why';
  const first = o.matched[0];
  if (first) {
    why.append('Matched by ');
    const b = document.createElement('b');
    b.textContent = `#${first.similar_rank} ${titleCase(first.type || first.name)}`;
    why.append(b, ` as ${slotLabel(first.outfit_slot)}`);
    if (o.matched.length > 1) why.append(` and ${o.matched.length - 1} more`);
  }

  const collage = document.createElement('div');
  const count = o.matched.length + o.other_pieces.reduce((n, g) => n + g.items.length, 0);
  collage.className = count === 2 || count === 4 ? 'collage two' : 'collage';
  if (o.has_photo) {
    const photo = document.createElement('div');
    photo.className = 'outfit-photo';
    const img = document.createElement('img');
    img.src = `/images/outfits/${o.outfit_id}`;
    img.alt = 'The outfit being worn';
    img.loading = 'lazy';
    photo.append(img);
    collage.append(photo);
  }
  for (const m of o.matched) collage.append(piece(m, slotLabel(m.outfit_slot), m.similar_rank));
  for (const group of o.other_pieces) {
    for (const item of group.items) collage.append(piece(item, slotLabel(group.slot)));
  }
  card.append(head, why, collage);
  return card;
}

/* ---------- complete the look ---------- */

// slot: what the garment was taken for; piece: the worn piece being replaced (null: keep them all).
const completeState = { sequence: 0, slot: '', piece: null };

/** True when the server has a compatibility model (GET /api/model's `complete.available`). */
async function completeAvailable() {
  try {
    const m = await modelDoc();
    return Boolean(m.complete && m.complete.available);
  } catch (e) {
    return false;
  }
}

async function runComplete(slot = '', piece = null) {
  if (!current) return;
  const mine = ++completeState.sequence;
  completeState.piece = piece;
  const panel = $('#complete');
  if (!(await completeAvailable())) { show(panel, false); return; }
  if (mine !== completeState.sequence) return;
  const form = new FormData();
  form.append('image', current.blob, current.name);
  form.append('outfits', '3');
  form.append('per_slot', '6');
  if (slot) form.append('slot', slot);
  if (piece !== null) form.append('piece', String(piece));
  if (colourState.family) form.append('colour', colourState.family);
  show(panel, true);
  setError($('#complete-error'), '');
  show($('#complete-loading'), true);
  if (!slot && piece === null) {
    $('#looks').replaceChildren();
    show($('#worn-pieces'), false);
  }
  try {
    const doc = await api('/api/complete', { method: 'POST', body: form });
    if (mine !== completeState.sequence) return;
    renderLooks(doc);
  } catch (e) {
    if (mine !== completeState.sequence) return;
    $('#looks').replaceChildren();
    // A photo we cannot read is already explained above; a server without the model hides the panel.
    if (e.status === 503 || e.status === 413 || e.status === 415 || e.status === 422) show(panel, false);
    else setError($('#complete-error'), e.message);
  } finally {
    if (mine === completeState.sequence) show($('#complete-loading'), false);
  }
}

function renderLooks(doc) {
  const panel = $('#complete');
  panel.dataset.mode = doc.mode || 'garment';
  if (doc.worn) { renderWornLooks(doc); return; }
  delete panel.dataset.piece;
  show($('#complete-slot-field'), true);
  show($('#worn-pieces'), false);
  const q = doc.query;
  completeState.slot = q.slot;
  $('#complete-slot').value = q.slot;
  const best = q.best_match;
  const learned = doc.model && doc.model.outfits_learned_from;
  $('#complete-meta').textContent = [
    q.slot_from === 'request' ? `Treated as: ${slotLabel(q.slot)}` :
      `Looks like: ${slotLabel(q.slot)}${best ? ` (closest catalog piece: ${titleCase(best.type || best.name)} ${best.source_id})` : ''}`,
    learned ? `pieces chosen by a model of what goes together, learned from ${learned.toLocaleString()} outfits` : '',
    `${doc.timing_ms.total.toFixed(0)} ms`,
  ].filter(Boolean).join(' · ');
  const bySlot = new Map(doc.candidates.map((c) => [c.slot, c.pieces]));
  const looks = $('#looks');
  looks.replaceChildren(...doc.outfits.map((o, i) => lookCard(o, i + 1, bySlot, q.slot)));
  if (!doc.outfits.length) {
    looks.replaceChildren(emptyNote(doc.slots.length
      ? 'No whole outfit could be put together around this piece.'
      : 'Nothing in the catalog is worn with this kind of piece yet. Try telling us what it is.'));
  }
}

/** Complete the look for a person: their own pieces stay in every look ("kept"), or one is replaced. */
function renderWornLooks(doc) {
  const panel = $('#complete');
  if (doc.piece !== null && doc.mode === 'replace') panel.dataset.piece = String(doc.piece); else delete panel.dataset.piece;
  show($('#complete-slot-field'), false);
  renderWornPieces(doc);
  const name = (p) => pieceName(doc.pieces, p);
  const kept = doc.pieces.filter((p) => p.role === 'kept');
  const replaced = doc.pieces.find((p) => p.role === 'replaced');
  const learned = doc.model && doc.model.outfits_learned_from;
  const list = (names) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0] || '');
  $('#complete-meta').textContent = [
    replaced
      ? `Replacing your ${name(replaced)}: ${slotLabel(replaced.slot)} pieces that go with your ${list(kept.map(name)) || 'photo'}`
      : kept.length ? `Your ${list(kept.map(name))} stay${kept.length === 1 ? 's' : ''} in every look; the looks add ${list(doc.slots.map(slotLabel)) || 'nothing'}` : '',
    learned ? `pieces chosen by a model of what goes together, learned from ${learned.toLocaleString()} outfits` : '',
    doc.timing_ms ? `${doc.timing_ms.total.toFixed(0)} ms` : '',
  ].filter(Boolean).join(' · ');
  const bySlot = new Map(doc.candidates.map((c) => [c.slot, c.pieces]));
  const looks = $('#looks');
  looks.replaceChildren(...doc.outfits.map((o, i) => lookCard(o, i + 1, bySlot, doc.query.slot, doc)));
  if (!doc.outfits.length) {
    looks.replaceChildren(emptyNote(doc.note ? sentence(doc.note) : 'No whole outfit could be put together around what you wear.'));
  }
}

/** The image of worn piece `p`: its cut-out from the /api/recommend answer when it is here, else the
 * catalog piece closest to it. */
function wornImage(img, p, name) {
  const found = pieceState.doc && pieceState.doc.worn && pieceState.doc.pieces[p.index];
  const cutout = found && found.class === p.class ? found.cutout_image : '';
  img.dataset.piece = String(p.index);
  if (cutout) {
    img.classList.remove('no-photo');
    img.src = cutout;
    img.alt = `Your ${name}`;
    img.dataset.source = 'cutout';
  } else {
    picture(img, p.best_match && p.best_match.image_url, `Your ${name} (shown by its closest catalog piece)`);
    img.dataset.source = 'best match';
  }
}

/** The /api/recommend answer came after /api/complete's: show the cut-outs instead of the stand-ins. */
function refreshYours() {
  const doc = pieceState.doc;
  if (!doc || !doc.worn) return;
  for (const img of document.querySelectorAll('#complete img[data-source="best match"]')) {
    const p = doc.pieces[Number(img.dataset.piece)];
    if (p && p.cutout_image) {
      img.classList.remove('no-photo');
      img.src = p.cutout_image;
      img.alt = `Your ${pieceName(doc.pieces, p)}`;
      img.dataset.source = 'cutout';
    }
  }
}

/** What the person wears, each with its part in the looks and a button to replace it (or keep it). */
function renderWornPieces(doc) {
  const row = $('#worn-pieces');
  const cards = doc.pieces.map((p) => {
    const name = pieceName(doc.pieces, p);
    const card = document.createElement('figure');
    card.className = `worn-piece role-${p.role.replace(' ', '-')}`;
    card.dataset.index = String(p.index);
    card.style.setProperty('--piece', pieceColour(p.index));
    const img = document.createElement('img');
    wornImage(img, p, name);
    const cap = document.createElement('figcaption');
    const title = document.createElement('b');
    title.textContent = name;
    const role = document.createElement('span');
    role.className = 'muted small';
    role.textContent = { kept: 'kept in every look', replaced: 'being replaced', 'not sold': 'not sold here' }[p.role] || p.role;
    cap.append(title, role);
    card.append(img, cap);
    if (p.sold) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn replace';
      if (p.role === 'replaced') {
        b.textContent = 'Keep it';
        b.setAttribute('aria-label', `Keep your ${name} and fill the other slots`);
        b.addEventListener('click', () => runComplete('', null));
      } else {
        b.textContent = 'Replace';
        b.setAttribute('aria-label', `Replace your ${name} with pieces that go with the rest`);
        b.addEventListener('click', () => runComplete('', p.index));
      }
      card.append(b);
    }
    return card;
  });
  row.replaceChildren(...cards);
  show(row, cards.length > 0);
}

function sentence(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) + '.' : ''; }

/** One proposed outfit: the user's photo beside a piece per slot, each swappable among its slot's candidates. */
function lookCard(o, number, bySlot, querySlot, worn = null) {
  const card = document.createElement('article');
  card.className = 'card outfit-card look';
  card.setAttribute('aria-label', `Look ${number}`);
  const head = document.createElement('div');
  head.className = 'outfit-head';
  const h = document.createElement('h3');
  h.textContent = `Look ${number}`;
  const score = document.createElement('span');
  score.className = 'muted small look-score';
  score.textContent = `score ${o.score.toFixed(2)}`;
  score.title = 'How well every pair of pieces goes together, on average (your piece included)';
  head.append(h, score);

  const why = document.createElement('p');
  why.className = 'why';
  why.textContent = sentence(o.why);

  const collage = document.createElement('div');
  collage.className = 'collage look-collage';
  if (worn) {
    // The person's own pieces in place, each as they wear it.
    for (const p of worn.pieces.filter((w) => w.role === 'kept')) {
      const name = pieceName(worn.pieces, p);
      const yours = document.createElement('figure');
      yours.className = 'piece yours';
      yours.dataset.piece = String(p.index);
      yours.dataset.slot = p.slot || '';
      yours.style.setProperty('--piece', pieceColour(p.index));
      const img = document.createElement('img');
      wornImage(img, p, name);
      const tag = document.createElement('figcaption');
      tag.className = 'piece-label';
      tag.textContent = `Yours · ${name}`;
      tag.title = `Your ${name}, as you wear it`;
      yours.append(img, tag);
      collage.append(yours);
    }
  } else {
    const yours = document.createElement('figure');
    yours.className = 'piece yours';
    const photo = document.createElement('img');
    photo.src = $('#upload-image').dataset.url;
    photo.alt = 'Your photo';
    const tag = document.createElement('figcaption');
    tag.className = 'piece-label';
    tag.textContent = 'Yours';
    tag.title = `Your piece, as ${slotLabel(querySlot)}`;
    yours.append(photo, tag);
    collage.append(yours);
  }

  const note = document.createElement('p');
  note.className = 'muted small look-note';
  note.setAttribute('role', 'status');
  for (const p of o.pieces) {
    // The proposed piece first, then its slot's other candidates: swapping cycles back to it.
    const options = [p, ...(bySlot.get(p.slot) || []).filter((c) => c.item.item_id !== p.item.item_id)];
    collage.append(lookPiece(options, () => {
      score.textContent = `score ${o.score.toFixed(2)} as proposed`;
      note.textContent = 'You swapped pieces: the score and the reason are for the look as proposed.';
    }));
  }
  card.append(head, why, collage, note);
  return card;
}

function lookPiece(options, onSwap) {
  let at = 0;
  const fig = document.createElement('figure');
  fig.className = 'piece look-piece';
  const link = document.createElement('a');
  link.className = 'look-link';
  link.target = '_blank';
  link.rel = 'noopener';
  const img = document.createElement('img');
  link.append(img);
  const tag = document.createElement('figcaption');
  tag.className = 'piece-label';
  const swap = document.createElement('button');
  swap.type = 'button';
  swap.className = 'swap';
  swap.textContent = 'Swap';
  fig.append(link, tag, swap);

  const showOption = () => {
    const { item, slot } = options[at];
    const name = `${titleCase(item.type || item.name)}${colourText(item) ? ', ' + colourText(item) : ''}`;
    fig.dataset.slot = slot;
    fig.dataset.itemId = String(item.item_id);
    img.className = '';
    picture(img, item.image_url, `${name} (${slotLabel(slot)})`);
    if (item.shop_url) link.href = item.shop_url; else link.removeAttribute('href');
    link.title = `${name} (${item.source_id}): shop it`;
    tag.textContent = titleCase(item.type) || slotLabel(slot);
    tag.title = `${slotLabel(slot)}: ${name}`;
    swap.setAttribute('aria-label', `Swap the ${slotLabel(slot)}: show option ${(at + 1) % options.length + 1} of ${options.length}`);
  };
  swap.disabled = options.length < 2;
  if (swap.disabled) swap.title = 'No other piece for this slot';
  swap.addEventListener('click', () => {
    at = (at + 1) % options.length;
    showOption();
    onSwap();
  });
  showOption();
  return fig;
}

function setUpComplete() {
  const select = $('#complete-slot');
  select.addEventListener('change', () => {
    if (select.value && select.value !== completeState.slot) runComplete(select.value);
  });
}

async function findSimilarTo(item) {
  location.hash = '#/';
  try {
    const response = await fetch(item.image_url);
    if (!response.ok) throw new Error(`The photo of ${item.source_id} could not be loaded.`);
    useFile(await response.blob(), `${item.source_id}.jpg`);
    window.scrollTo({ top: 0, behavior: 'smooth' });
  } catch (e) {
    setError($('#error'), e.message);
  }
}

function setUpUpload() {
  const input = $('#file-input');
  const camera = $('#camera-input');
  $('#choose-button').addEventListener('click', () => input.click());
  for (const el of [input, camera]) {
    el.addEventListener('change', () => {
      if (el.files && el.files[0]) useFile(el.files[0], el.files[0].name);
      el.value = '';
    });
  }
  const zone = $('#dropzone');
  const view = $('#view-recommend');
  view.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('dragging'); });
  view.addEventListener('dragleave', (e) => { if (e.target === zone) zone.classList.remove('dragging'); });
  view.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) useFile(file, file.name);
  });
  document.addEventListener('paste', (e) => {
    const file = [...(e.clipboardData ? e.clipboardData.files : [])][0];
    if (file) useFile(file, file.name || 'pasted image');
  });
  const k = controls.elements.k;
  k.addEventListener('input', () => { $('#k-out').textContent = k.value; });
  controls.addEventListener('change', runQuery);
  controls.addEventListener('submit', (e) => { e.preventDefault(); runQuery(); });
}

/* ---------- catalog ---------- */

const catalog = { page: 1, pages: 1, perPage: 24 };
let catalogSequence = 0;

async function loadCatalog() {
  const filters = new FormData($('#catalog-filters'));
  const params = new URLSearchParams({ page: catalog.page, per_page: catalog.perPage });
  for (const key of ['q', 'category', 'slot']) if (filters.get(key)) params.set(key, filters.get(key));
  const mine = ++catalogSequence;
  try {
    const doc = await api(`/api/items?${params}`);
    if (mine !== catalogSequence) return;
    setError($('#catalog-error'), '');
    catalog.pages = Math.max(1, doc.pages);
    const grid = $('#catalog-grid');
    grid.replaceChildren(...doc.items.map((item) => itemCard(item)));
    if (!doc.items.length) grid.replaceChildren(emptyNote('Nothing matches these filters.'));
    $('#page-info').textContent = `Page ${doc.page} of ${catalog.pages} · ${doc.total.toLocaleString()} items`;
    $('#prev-page').disabled = catalog.page <= 1;
    $('#next-page').disabled = catalog.page >= catalog.pages;
  } catch (e) {
    setError($('#catalog-error'), e.message);
  }
}

function setUpCatalog() {
  const form = $('#catalog-filters');
  let timer = 0;
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { catalog.page = 1; loadCatalog(); }, 200);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  $('#prev-page').addEventListener('click', () => { if (catalog.page > 1) { catalog.page--; loadCatalog(); } });
  $('#next-page').addEventListener('click', () => { if (catalog.page < catalog.pages) { catalog.page++; loadCatalog(); } });
}

async function loadFilters() {
  try {
    const doc = await api('/api/categories');
    for (const select of [$('#category-select'), $('#catalog-category')]) {
      for (const c of doc.categories) select.append(new Option(`${c.name} (${c.items})`, c.name));
    }
    for (const s of doc.slots) $('#catalog-slot').append(new Option(slotLabel(s), s));
    for (const s of doc.slots) $('#complete-slot').append(new Option(slotLabel(s), s));
    if (completeState.slot) $('#complete-slot').value = completeState.slot;
    const total = doc.categories.reduce((n, c) => n + c.items, 0);
    $('#catalog-lead').textContent = `${total.toLocaleString()} pieces in ${doc.categories.length} categories.`;
  } catch (e) {
    setError($('#error'), e.message);
  }
}

/* ---------- model ---------- */

function stat(value, label) {
  const div = document.createElement('div');
  div.className = 'card stat';
  const v = document.createElement('div');
  v.className = 'value';
  v.textContent = value;
  const l = document.createElement('div');
  l.className = 'label';
  l.textContent = label;
  div.append(v, l);
  return div;
}

async function loadModel() {
  try {
    const m = await modelDoc();
    const t = m.train || {};
    const fmt = (x, digits = 4) => (typeof x === 'number' ? x.toFixed(digits) : '–');
    const stats = [
      stat(m.model, `${m.pooling} codes, ${m.embedding_dim} numbers each`),
      stat(m.indexed_items.toLocaleString(), `items indexed (${m.index})`),
      stat(t.epochs ?? '–', t.best_epoch ? `epochs (best: ${t.best_epoch})` : 'epochs'),
      stat(fmt(t.best_val_loss), 'best validation loss'),
      t.heads
        ? stat(fmt(t.heads.type.val_accuracy, 3), 'product type accuracy on validation designs')
        : stat(fmt(t.test_loss), 'test loss'),
      t.split && t.split.held_out_items_never_used !== undefined
        ? stat(t.split.held_out_items_never_used.toLocaleString(), 'items of held-out designs, never trained on')
        : stat(t.split ? (t.split.train + t.split.validation + t.split.test).toLocaleString() : '–', 'training photos (all splits)'),
    ];
    $('#model-stats').replaceChildren(...stats);
    $('#model-lead').textContent = t.heads
      ? 'A convolutional network learned from the catalog\'s labels (type, colour, ...) to put each product photo at a point of 128 numbers; nearby points are pieces of the same kind and colour. It never saw the held-out designs its quality is measured on.'
      : 'A convolutional autoencoder learns to redraw each product photo from a small code; similar codes mean similar-looking pieces.';
    renderQuality(m.evaluation || {});
    for (const [key, url] of Object.entries(m.images)) {
      const fig = $(`#fig-${key}`);
      if (!fig) continue;
      const img = $('img', fig);
      if (url) {
        img.src = url;
        img.addEventListener('error', () => img.replaceWith(missing('This picture could not be drawn.')), { once: true });
      } else if (key === 'reconstructions' || key === 'accuracy_curve') {
        fig.hidden = true;  // each belongs to one kind of model (autoencoder / label-trained)
      } else {
        img.replaceWith(missing('Not made yet: run `mystyle train`.'));
      }
    }
  } catch (e) {
    setError($('#model-error'), e.message);
  }
}

// Small tables of the eval reports: retrieval P@10, outfit FITB/AUC, robustness recall, transfer, probes.
function qualityTable(caption, head, rows) {
  const table = document.createElement('table');
  table.className = 'quality';
  const cap = document.createElement('caption');
  cap.textContent = caption;
  const tr = document.createElement('tr');
  for (const h of head) {
    const th = document.createElement('th');
    th.textContent = h;
    tr.append(th);
  }
  table.append(cap, tr);
  for (const row of rows) {
    const r = document.createElement('tr');
    if (row.ours) r.className = 'ours';
    for (const cell of row.cells) {
      const td = document.createElement('td');
      td.textContent = cell;
      r.append(td);
    }
    table.append(r);
  }
  return table;
}

function renderQuality(ev) {
  const f = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');
  const tables = [];
  if (ev.retrieval && ev.retrieval.rows) {
    const rows = ev.retrieval.rows.filter((r) => r.metric === 'cosine' || r.metric === '-').map((r) => ({
      ours: r.method.includes('ours'),
      cells: [r.method, f(r.precision_at_k.type), f(r.precision_at_k.family), f(r.precision_at_k.category),
              f(r.precision_at_k.colour), f(r.precision_at_k.colour_family), f(r.precision_at_k.type_colour_family),
              f(r.map_type)],
    }));
    tables.push(qualityTable(`Retrieval on ${ev.retrieval.protocol_description || `${ev.retrieval.items} items`} (cosine): precision@10 of the same…`,
      ['method', 'type', 'family', 'category', 'shop colour group', 'colour family', 'type + colour family', 'mAP type'], rows));
  }
  if (ev.outfits && ev.outfits.rows) {
    const rows = ev.outfits.rows.map((r) => ({
      ours: r.scorer.startsWith('ours'),
      cells: [r.protocol, r.scorer, f(r.fitb_accuracy), f(r.auc)],
    }));
    tables.push(qualityTable('Outfits: fill in the blank (1 of 4) and compatibility AUC',
      ['protocol', 'scorer', 'FITB', 'AUC'], rows));
  }
  if (ev.robustness && ev.robustness.rows) {
    const methods = Object.keys(ev.robustness.rows[0].methods);
    const rows = ev.robustness.rows.map((r) => ({
      cells: [r.perturbation, ...methods.map((m) => `${f(r.methods[m].recall_at_1)} / ${f(r.methods[m].recall_at_k)}`)],
    }));
    tables.push(qualityTable(`Robustness: a user-like photo of ${ev.robustness.queries} products finds the product (recall@1 / @10)`,
      ['perturbation', ...methods], rows));
  }
  if (ev.transfer && ev.transfer.rows) {
    const methods = ev.transfer.methods;
    const rows = ev.transfer.rows.map((r) => ({
      cells: [r.edit, ...methods.map((m) => `${f(r.methods[m].slot_accuracy)} / ${f(r.methods[m].type_accuracy)}`)],
    }));
    tables.push(qualityTable(`Beyond the studio: ${ev.transfer.queries} photos edited as if taken elsewhere get the right slot / type (top-10 vote)`,
      ['edit', ...methods], rows));
  }
  if (ev.probe && ev.probe.rows) {
    const rows = ev.probe.rows.map((r) => ({
      ours: r.method.includes('ours'),
      cells: [r.method, `${f(r.held_out_accuracy.type)} / ${f(r.held_out_accuracy.colour)}`,
              `${f(r.precision_at_k_ranked_by_probe.type)} / ${f(r.precision_at_k_ranked_by_probe.colour)}`],
    }));
    tables.push(qualityTable(`What a linear classifier reads off each representation for ${ev.probe.held_out_items} items of unseen designs`,
      ['representation', 'accuracy type / colour', `P@${ev.probe.k} ranked by it, type / colour`], rows));
  }
  if (tables.length) $('#quality-tables').replaceChildren(...tables);
}

function missing(text) {
  const p = document.createElement('p');
  p.className = 'missing';
  p.textContent = text;
  return p;
}

/* ---------- start ---------- */

setUpUpload();
setUpComplete();
setUpColours();
setUpCatalog();
loadFilters();
window.addEventListener('hashchange', route);
route();
