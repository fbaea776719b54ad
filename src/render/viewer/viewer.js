// gaze view: the attention viewer embedded in every page that `gaze view` writes.
// Plain JS, no libraries, no network. It reads two data blocks written by render/html.c:
//   #gaze-meta  JSON: tokens, shapes, word groups, and where each map lies in the payload;
//   #gaze-data  base64 payload: attention maps (f16, or u8 sqrt-quantised in a nibble code, or
//               u8 block-mean summaries), q/k vectors (f16), and the rollout / flow panel's
//               rollout matrices and flow vectors (f16 of v * 2^15).
// Token text reaches the screen only through textContent and canvas fillText: never markup.
// Transforms follow the C rules (analysis/aggregate.c): hidden special tokens drop their rows
// and columns and rows are renormalised; a word's attention TO is the sum over its pieces and
// FROM is the mean over its pieces. Open the page with #selftest to run the built-in checks
// (results go into a pre element with id gaze-selftest); #view=model&layer=2&head=3 picks a view
// (#view=rollout&token=5&fusion=max: the rollout / flow panel for output token 5).
// Encoder-decoder pages hold the encoder, decoder and cross attention: a selector switches
// kinds (#kind=cross opens on one), and the alignment tab draws cross-attention as a target x
// source matrix (#view=align). Cross-attention rows are target tokens, columns source tokens:
// the key side is the usual one (T, tokens, words), the rows' side meta.rows.
(function () {
'use strict';

const errors = [];
window.addEventListener('error', (e) => { errors.push('error: ' + (e.message || 'unknown')); });
window.addEventListener('unhandledrejection', (e) => { errors.push('rejection: ' + String(e.reason)); });
document.addEventListener('securitypolicyviolation', (e) => {
  errors.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI);
});

/* ---- small helpers ------------------------------------------------------------------------ */

const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function clamp(x, lo, hi) { return x < lo ? lo : x > hi ? hi : x; }
function hexTable(s) {
  const n = s.length / 6, out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = [parseInt(s.substr(6 * i, 2), 16), parseInt(s.substr(6 * i + 2, 2), 16), parseInt(s.substr(6 * i + 4, 2), 16)];
  }
  return out;
}
// matplotlib tables, the same as render/palette.c
const VIRIDIS = hexTable(
  '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769'
  + '48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a'
  + '472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85'
  + '4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b'
  + '3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d'
  + '33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e'
  + '2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e'
  + '26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d'
  + '21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88'
  + '1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81'
  + '28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74'
  + '3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863'
  + '5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d'
  + '84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32'
  + 'addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a'
  + 'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725');
const DIVERGING = hexTable(
  '05306106326407346708366a09386d0a3b700c3d730d3f760e41790f437b10457e114781124984134c87144e8a15508d'
  + '1752901854931956961a58991b5a9c1c5c9f1d5fa21e61a51f63a82065ab2267ac2369ad246aae266caf276eb02870b1'
  + '2a71b22b73b32c75b42e77b52f79b5307ab6327cb7337eb83480b93681ba3783bb3885bc3a87bd3b88be3c8abe3e8cbf'
  + '3f8ec0408fc14291c24393c34695c44997c54c99c64f9bc7529dc8569fc959a1ca5ca3cb5fa5cd62a7ce65a9cf68abd0'
  + '6bacd16eaed271b0d375b2d478b4d57bb6d67eb8d781bad884bcd987beda8ac0db8dc2dc90c4dd93c6de96c7df98c8e0'
  + '9bc9e09dcbe1a0cce2a2cde3a5cee3a7d0e4a9d1e5acd2e5aed3e6b1d5e7b3d6e8b6d7e8b8d8e9bbdaeabddbeac0dceb'
  + 'c2ddecc5dfecc7e0edcae1eecce2efcfe4efd1e5f0d2e6f0d4e6f1d5e7f1d7e8f1d8e9f1dae9f2dbeaf2ddebf2deebf2'
  + 'e0ecf3e1edf3e3edf3e4eef4e6eff4e7f0f4e9f0f4eaf1f5ecf2f5edf2f5eff3f5f0f4f6f2f5f6f3f5f6f5f6f7f6f7f7'
  + 'f7f6f6f7f5f4f8f4f2f8f3f0f8f2eff8f1edf9f0ebf9efe9f9eee7f9ede5f9ebe3faeae1fae9dffae8defae7dcfbe6da'
  + 'fbe5d8fbe4d6fbe3d4fce2d2fce0d0fcdfcffcdecdfdddcbfddcc9fddbc7fdd9c4fcd7c2fcd5bffcd3bcfbd0b9fbceb7'
  + 'fbccb4facab1fac8aff9c6acf9c4a9f9c2a7f8bfa4f8bda1f8bb9ef7b99cf7b799f7b596f6b394f6b191f6af8ef5ac8b'
  + 'f5aa89f5a886f4a683f3a481f2a17ff19e7df09c7bef9979ee9677ec9374eb9172ea8e70e98b6ee8896ce6866ae58368'
  + 'e48066e37e64e27b62e17860df765ede735cdd7059dc6e57db6b55da6853d86551d7634fd6604dd55d4cd35a4ad25849'
  + 'd05548cf5246ce4f45cc4c44cb4942c94741c84440c6413ec53e3dc43b3cc2383ac13639bf3338be3036bd2d35bb2a34'
  + 'ba2832b82531b72230b61f2eb41c2db3192cb1182bae172aab162aa81529a51429a213289f12289c1127991027960f27'
  + '930e26900d268d0c258a0b25870a248409248108237f08237c07227906227605217304217003206d02206a011f67001f');
const HEAD_COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9',
                     '#000000', '#f0e442', '#882255', '#332288', '#999933', '#44aa99'];
function headColor(i) { return HEAD_COLORS[i % HEAD_COLORS.length]; }
function rgbOf(table, t) {
  const c = table[clamp(Math.round((t === t ? t : 0) * 255), 0, 255)];
  return c;
}
function css(c) { return 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')'; }
// colour scale position of v in [0, top]: linear, square root, or log (the figures' log scale:
// log(1 + 99 v / top) / log(100)); decoders default to log, their sink token takes most weight
function scaleT(v, top) {
  const x = v / top;
  if (state.scale === 'sqrt') return Math.sqrt(Math.max(0, x));
  if (state.scale === 'log') return Math.log(1 + 99 * Math.max(0, x)) / Math.log(100);
  return x;
}

// A token as a visible label: control characters as their Unicode pictures, leading
// whitespace as a visible mark, long tokens cut. Always used as text, never as markup.
function disp(s, max) {
  max = max || 28;
  let out = '', n = 0, lead = true;
  for (const ch of String(s)) {
    const c = ch.codePointAt(0);
    let r;
    // the mapping of gaze_token_display (src/text/display.c), shared by every output
    if (c === 10) r = '\u21b5';
    else if (c === 9) r = '\u21e5';
    else if (lead && (c === 32 || c === 0x2581)) r = '\u2423';
    else if (c === 13) r = '\\r';
    else if (c < 32 || c === 127) r = '\\x' + c.toString(16).padStart(2, '0');
    else if ((c >= 0x80 && c < 0xa0) || c === 0x61c || c === 0x200e || c === 0x200f || (c >= 0x202a && c <= 0x202e) ||
             (c >= 0x2066 && c <= 0x2069) || c === 0x2028 || c === 0x2029 || c === 0xfeff || (c >= 0xfff9 && c <= 0xfffb))
      r = '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
    else r = ch;
    if (c !== 32 && c !== 0x2581) lead = false;
    if (n === max) { out += '\u2026'; break; }
    out += r;
    n++;
  }
  return out === '' ? '\u2205' : out;
}
function fmt(v, exact) { return (exact ? '' : '\u2248') + (v === v ? v.toFixed(exact ? 4 : 3) : 'n/a'); }

/* ---- data ----------------------------------------------------------------------------------- */

function b64decode(s) {
  s = s.trim();
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(s);
  const bin = atob(s), n = bin.length, out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
  return out;
}
const F16 = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
  const e = (h >> 10) & 31, m = h & 1023;
  const v = e === 0 ? m * 5.960464477539063e-8 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * Math.pow(2, e - 15);
  F16[h] = h & 0x8000 ? -v : v;
}
const SQ = new Float32Array(256);   // u8 code -> weight: (q / 255)^2
for (let q = 0; q < 256; q++) SQ[q] = (q / 255) * (q / 255);

const PAGE = JSON.parse($('gaze-meta').textContent);
const bytes = b64decode($('gaze-data').textContent);
// Encoder-decoder pages (render/html.c): the first kind's metadata at the top, the others'
// under PAGE.kinds (each with the same fields and its own chunk table into the one payload).
// boot() builds the whole page for one kind; the kind selector and the alignment tab (which
// needs cross-attention) build it again for another, carrying the view, layer and options.
const KINDS = PAGE.kinds || null;
const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
let onResize = null, resizeTimer = 0;
let state = null;   // the view's state, made by boot()
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (onResize) onResize(); }, 150);
});
function metaOfKind(k) { return !KINDS || k === KINDS.list[0] ? PAGE : KINDS[k]; }

// The page of one kind (null: a single-kind page). carry: what a kind switch keeps, or null
// on the first build (then the URL's #... applies).
function boot(kind, carry) {
const meta = metaOfKind(kind);
const T = meta.T, Tq = meta.Tq, Hc = meta.heads.length, L = meta.layers.length;
const qRows = meta.q_rows, tokens = meta.tokens;
const causal = !!meta.causal;
// the rows' side: cross-attention's target tokens, else the tokens themselves
const RS = meta.rows || null;
const TR = RS ? RS.T : T, rowTokens = RS ? RS.tokens : tokens, rowSpecial = RS ? RS.special : meta.special;
const rowOfToken = new Int32Array(TR).fill(-1);
qRows.forEach((t, r) => { rowOfToken[t] = r; });
const nGen = meta.n_generated | 0;
const isPair = !!meta.pair || (meta.types && meta.types.some((x) => x === 1)) || (meta.seq && meta.seq.some((x) => x === 1));
// segment of each token (sentence pairs): token type ids when present, else sequence ids with
// special tokens joining the segment before them ([CLS] A [SEP] | B [SEP], as bertviz slices)
const segTok = new Int8Array(T);
for (let j = 0; j < T; j++) {
  if (meta.types) segTok[j] = meta.types[j] ? 1 : 0;
  else if (meta.seq) segTok[j] = meta.seq[j] >= 0 ? meta.seq[j] : (j ? segTok[j - 1] : 0);
}
function rowKeys(r) { return causal ? Math.min(T, qRows[r] + 1) : T; }
const exactCount = meta.exact.filter((c) => c).length;

// Decoded maps [Tq, T] and transformed maps, least recently used first out.
const cache = new Map();
const cacheMax = Math.max(6, Math.floor(64e6 / (4 * Tq * T)));
function cacheGet(key, make) {
  let v = cache.get(key);
  if (v !== undefined) { cache.delete(key); cache.set(key, v); return v; }
  v = make();
  cache.set(key, v);
  while (cache.size > cacheMax) cache.delete(cache.keys().next().value);
  return v;
}
function hasExact(li, hi) { return !!meta.exact[li * Hc + hi]; }
function rawMap(li, hi) {
  const c = meta.exact[li * Hc + hi];
  if (!c) return null;
  return cacheGet('r' + (li * Hc + hi), () => {
    const out = new Float32Array(Tq * T);
    if (c[0] === 1) {
      const u = new Uint16Array(bytes.buffer, bytes.byteOffset + c[1], c[2] >> 1);
      let p = 0;
      for (let r = 0; r < Tq; r++) {
        const base = r * T, n = rowKeys(r);
        for (let j = 0; j < n; j++) out[base + j] = F16[u[p++]];
      }
    } else {
      let p = c[1] * 2;   // nibble position, high nibble first
      for (let r = 0; r < Tq; r++) {
        const base = r * T, n = rowKeys(r);
        for (let j = 0; j < n; j++) {
          let b = bytes[p >> 1], v = (p & 1) ? b & 15 : b >> 4;
          p++;
          if (v >= 14) {
            b = bytes[p >> 1];
            const x = (p & 1) ? b & 15 : b >> 4;
            p++;
            if (v === 14) v = 14 + x;
            else {
              b = bytes[p >> 1];
              v = (x << 4) | ((p & 1) ? b & 15 : b >> 4);
              p++;
            }
          }
          out[base + j] = SQ[v];
        }
      }
    }
    return out;
  });
}
function summaryMap(li, hi) {   // block means [nr, nc] of the captured rows x keys
  const s = meta.summary;
  if (!s || s.off[li * Hc + hi] < 0) return null;
  return cacheGet('s' + (li * Hc + hi), () => {
    const o = s.off[li * Hc + hi], out = new Float32Array(s.nr * s.nc);
    for (let i = 0; i < out.length; i++) out[i] = SQ[bytes[o + i]];
    return out;
  });
}
function qkOf(li, hi) {   // {q: [Tq, d], k: [T, d]} or null
  const c = meta.qk[li * Hc + hi];
  if (!c) return null;
  const d = meta.d_head;
  return cacheGet('q' + (li * Hc + hi), () => {
    const q = new Float32Array(Tq * d), k = new Float32Array(T * d);
    const uq = new Uint16Array(bytes.buffer, bytes.byteOffset + c[0], Tq * d);
    const uk = new Uint16Array(bytes.buffer, bytes.byteOffset + c[1], T * d);
    for (let i = 0; i < q.length; i++) q[i] = F16[uq[i]];
    for (let i = 0; i < k.length; i++) k[i] = F16[uk[i]];
    return { q, k };
  });
}

/* ---- state and units (tokens or words, special tokens shown or hidden) --------------------- */

state = {   // (module-level: scaleT reads the colour scale)
  view: 'head', layer: 0, sel: new Set(), focus: 'mean', pair: 'all', hide: false, words: false,
  step: Math.max(0, nGen - 1), qtok: -1, hoverL: -1, hoverR: -1, scale: causal ? 'log' : 'linear',
  rtok: 0, fusion: 'mean',
};
for (let h = 0; h < Hc; h++) state.sel.add(h);

let U = null;        // current units
let unitVer = 0;     // bumps with every transform change (cache keys)
// Units of one side: tokens (special ones dropped when hidden) or words. seg: segment of each token.
function sideUnits(toks, special, words, wordsHidden, seg) {
  const n = toks.length, col = new Int32Array(n);
  let labels = [], first = [];
  if (state.words) {
    const w = state.hide ? wordsHidden : words;
    for (let j = 0; j < n; j++) col[j] = w.token_word[j];
    labels = w.text.map((x) => disp(x));
    first = w.first.slice();
  } else {
    let k = 0;
    for (let j = 0; j < n; j++) {
      if (state.hide && special[j]) { col[j] = -1; continue; }
      col[j] = k++;
      labels.push(disp(toks[j]));
      first.push(j);
    }
  }
  const C = labels.length;
  const last = new Int32Array(C).fill(-1), count = new Int32Array(C), sp = new Uint8Array(C), sg = new Int8Array(C);
  for (let j = 0; j < n; j++) if (col[j] >= 0) { last[col[j]] = j; count[col[j]]++; }
  for (let u = 0; u < C; u++) { sp[u] = special[first[u]] && count[u] === 1 ? 1 : 0; sg[u] = seg ? seg[first[u]] : 0; }
  return { col, C, labels, first, last, count, special: sp, seg: sg };
}
function buildUnits() {
  const K = sideUnits(tokens, meta.special, meta.words, meta.words_hidden, segTok);
  // rows: units of the rows' side (the same units, unless cross-attention's target tokens)
  const rs = RS ? sideUnits(RS.tokens, RS.special, RS.words, RS.words_hidden, null) : K;
  const rowUnit = new Int32Array(Tq), rowCount = new Int32Array(rs.C);
  for (let r = 0; r < Tq; r++) { rowUnit[r] = rs.col[qRows[r]]; if (rowUnit[r] >= 0) rowCount[rowUnit[r]]++; }
  const rows = [];
  const rowIndex = new Int32Array(rs.C).fill(-1);
  for (let u = 0; u < rs.C; u++) if (rowCount[u] > 0) { rowIndex[u] = rows.length; rows.push(u); }
  U = Object.assign(K, {
    identity: !state.hide && !state.words, rowUnit, rowCount, rows, rowIndex, R: rows.length, rs,
    hidden: K.col.some((x) => x < 0),
  });
  unitVer++;
}

// Map of (layer, head) in units: [R, C] rows = U.rows (units with captured rows), or null.
function unitMap(li, hi) {
  const raw = rawMap(li, hi);
  if (!raw) return null;
  if (U.identity) return raw;   // rows are the captured rows, columns the tokens
  return cacheGet('u' + unitVer + ':' + (li * Hc + hi), () => {
    const C = U.C, out = new Float32Array(U.R * C), acc = new Float64Array(C);
    for (let r = 0; r < Tq; r++) {
      const u = U.rowUnit[r];
      if (u < 0) continue;
      acc.fill(0);
      const base = r * T;
      for (let j = 0; j < T; j++) { const b = U.col[j]; if (b >= 0) acc[b] += raw[base + j]; }
      const a = U.rowIndex[u], inv = 1 / U.rowCount[u];
      for (let b = 0; b < C; b++) out[a * C + b] += acc[b] * inv;
    }
    if (U.hidden) {   // dropped keys: rows renormalised (an empty row stays 0)
      for (let a = 0; a < U.R; a++) {
        let s = 0;
        for (let b = 0; b < C; b++) s += out[a * C + b];
        if (s > 0) for (let b = 0; b < C; b++) out[a * C + b] /= s;
      }
    }
    return out;
  });
}

function pairPass(segValue, side) {   // side 0: rows, 1: columns
  if (state.pair === 'all') return true;
  return segValue === (state.pair.charAt(side) === 'A' ? 0 : 1);
}
function visibleRows() { const v = []; for (let a = 0; a < U.R; a++) if (pairPass(U.rs.seg[U.rows[a]], 0)) v.push(a); return v; }
function visibleCols() { const v = []; for (let b = 0; b < U.C; b++) if (pairPass(U.seg[b], 1)) v.push(b); return v; }
function masked(a, b) { return causal && U.first[b] > U.rs.last[U.rows[a]]; }   // key after the query
function selHeads() { return Array.from(state.sel).sort((x, y) => x - y); }
function focusHeads() {
  if (state.focus === 'mean' || state.focus === 'max') return selHeads();
  return [state.focus | 0];
}
// the focus map: one head, or mean / max over the selected heads; [R, C] or null
function focusMap(li) {
  const hs = focusHeads();
  if (!hs.length) return null;
  for (const h of hs) if (!hasExact(li, h)) return null;
  if (hs.length === 1) return unitMap(li, hs[0]);
  return cacheGet('f' + unitVer + ':' + li + ':' + state.focus + ':' + hs.join(','), () => {
    const n = U.R * U.C, out = new Float32Array(n);
    for (const h of hs) {
      const m = unitMap(li, h);
      if (state.focus === 'max') { for (let i = 0; i < n; i++) if (m[i] > out[i]) out[i] = m[i]; }
      else { for (let i = 0; i < n; i++) out[i] += m[i] / hs.length; }
    }
    return out;
  });
}
function layerName(li) { return 'layer ' + meta.layers[li]; }
function headName(hi) { return 'head ' + meta.heads[hi]; }
function focusName() {
  if (state.focus === 'mean') return 'mean of ' + state.sel.size + ' heads';
  if (state.focus === 'max') return 'max of ' + state.sel.size + ' heads';
  return headName(state.focus | 0);
}

/* ---- page skeleton ---------------------------------------------------------------------------- */

const app = $('app');
app.textContent = '';   // a kind switch builds the page again
const header = el('header');
const h1 = el('h1', null, meta.title || 'gaze view');
document.title = 'gaze view: ' + (meta.title || '');
const sub = el('div', 'sub');
{
  const parts = [meta.arch || '?', (RS ? TR + ' target \u00d7 ' + T + ' source tokens' : T + ' tokens') + (nGen ? ' (' + nGen + ' generated)' : ''),
                 L + ' layers \u00d7 ' + Hc + ' heads', causal ? 'causal' : 'bidirectional'];
  if (exactCount === meta.exact.length) parts.push(meta.enc === 'f16' ? 'weights exact (f16)' : 'weights 8-bit (\u00b10.4%)');
  else parts.push(exactCount + ' of ' + meta.exact.length + ' maps exact (' + meta.enc + '), the rest as ' +
                  meta.summary.block + '\u00d7' + meta.summary.block + ' block means');
  if (KINDS) parts.unshift(kind + ' attention' + (kind === 'cross' ? ' (rows: target tokens, columns: source tokens)' : ''));
  sub.textContent = parts.join(' \u00b7 ');
}
const textP = el('p', 'text');
textP.id = 'text';
if (meta.text !== null) {
  if (meta.pair !== null) textP.appendChild(el('b', null, 'A: '));
  textP.appendChild(document.createTextNode(meta.text));
}
if (meta.pair !== null) { textP.appendChild(document.createTextNode('\n')); textP.appendChild(el('b', null, 'B: ')); textP.appendChild(document.createTextNode(meta.pair)); }
if (KINDS && KINDS.target_text !== null) {
  if (meta.text !== null) textP.insertBefore(el('b', null, 'source: '), textP.firstChild);
  textP.appendChild(document.createTextNode('\n'));
  textP.appendChild(el('b', null, 'target: '));
  textP.appendChild(document.createTextNode(KINDS.target_text));
}
header.append(h1, sub, textP);

const nav = el('nav');
const tabs = {};
const tabDefs = [['head', 'Head view'], ['model', 'Model view'], ['heatmap', 'Heatmap'], ['qk', 'Query / key'], ['steps', 'Steps'],
                 ['rollout', 'Rollout / flow'], ['image', 'Image'], ['align', 'Alignment'], ['attrib', 'Attribution']];
for (const [id, label] of tabDefs) {
  const b = el('button', null, label);
  b.type = 'button';
  b.id = 'tab-' + id;
  b.addEventListener('click', () => setView(id));
  tabs[id] = b;
  nav.appendChild(b);
}
if (!meta.qk.some((c) => c)) tabs.qk.disabled = true;
if (!nGen) tabs.steps.classList.add('hidden');
if (!meta.image) tabs.image.classList.add('hidden');   // image runs only (image.js)
if (!meta.attrib) tabs.attrib.classList.add('hidden'); // gaze view --attrib only (attrib.js)
const hasCross = !!KINDS && KINDS.list.includes('cross');
if (!hasCross) tabs.align.classList.add('hidden');     // encoder-decoder runs with cross-attention

// the kind selector (encoder-decoder pages): the same views over another kind
const kindSel = el('select');
kindSel.id = 'kind';
for (const k of KINDS ? KINDS.list : []) { const o = el('option', null, k); o.value = k; kindSel.appendChild(o); }
if (KINDS) kindSel.value = kind;
kindSel.addEventListener('change', () => switchKind(kindSel.value, state.view));
const kindLab = el('label', null, 'Attention ');
kindLab.appendChild(kindSel);
if (!KINDS) kindLab.classList.add('hidden');
function switchKind(k, view) {
  hideTip();
  boot(k, { view: view === 'align' && k !== 'cross' ? 'head' : view, layer: meta.layers[state.layer], scale: state.scale, hide: state.hide, words: state.words, focus: state.focus });
}

const controls = el('div', 'controls');
const layerSel = el('select');
layerSel.id = 'layer';
meta.layers.forEach((l, li) => {
  const o = el('option', null, 'layer ' + l + (meta.exact[li * Hc] ? '' : ' (summary)'));
  o.value = String(li);
  layerSel.appendChild(o);
});
layerSel.addEventListener('change', () => { state.layer = layerSel.value | 0; render(); });
const layerLab = el('label', null, 'Layer ');
layerLab.appendChild(layerSel);

const headsBox = el('span', 'heads');
headsBox.id = 'heads';
headsBox.appendChild(el('span', null, 'Heads '));
const headBtns = [];
for (let h = 0; h < Hc; h++) {
  const b = el('button', 'h', String(meta.heads[h]));
  b.type = 'button';
  b.id = 'head-' + h;
  b.style.borderColor = headColor(h);
  b.title = 'click: show or hide this head; shift-click: this head only';
  b.addEventListener('click', (e) => {
    if (e.shiftKey || e.altKey) { state.sel.clear(); state.sel.add(h); }
    else if (state.sel.has(h)) state.sel.delete(h);
    else state.sel.add(h);
    syncControls();
    render();
  });
  headBtns.push(b);
  headsBox.appendChild(b);
}
for (const [label, fn] of [['all', () => { for (let h = 0; h < Hc; h++) state.sel.add(h); }], ['none', () => state.sel.clear()]]) {
  const b = el('button', 'small', label);
  b.type = 'button';
  b.addEventListener('click', () => { fn(); syncControls(); render(); });
  headsBox.appendChild(b);
}
const focusSel = el('select');
focusSel.id = 'focus';
for (const [v, t] of [['mean', 'mean of selected'], ['max', 'max of selected']]) { const o = el('option', null, t); o.value = v; focusSel.appendChild(o); }
for (let h = 0; h < Hc; h++) { const o = el('option', null, headName(h)); o.value = String(h); focusSel.appendChild(o); }
focusSel.addEventListener('change', () => { state.focus = focusSel.value; render(); });
const focusLab = el('label', null, 'Show ');
focusLab.appendChild(focusSel);

const pairSel = el('select');
pairSel.id = 'pair';
for (const [v, t] of [['all', 'all'], ['AA', 'A \u2192 A'], ['AB', 'A \u2192 B'], ['BA', 'B \u2192 A'], ['BB', 'B \u2192 B']]) {
  const o = el('option', null, t);
  o.value = v;
  pairSel.appendChild(o);
}
pairSel.addEventListener('change', () => { state.pair = pairSel.value; render(); });
const pairLab = el('label', null, 'Sentences ');
pairLab.appendChild(pairSel);

function checkbox(id, text, key) {
  const lab = el('label');
  const c = el('input');
  c.type = 'checkbox';
  c.id = id;
  c.addEventListener('change', () => { state[key] = c.checked; buildUnits(); state.hoverL = state.hoverR = -1; render(); });
  lab.append(c, document.createTextNode(text));
  return [lab, c];
}
const scaleSel = el('select');
scaleSel.id = 'scale';
for (const v of ['linear', 'sqrt', 'log']) { const o = el('option', null, v); o.value = v; scaleSel.appendChild(o); }
scaleSel.addEventListener('change', () => { state.scale = scaleSel.value; render(); });
const scaleLab = el('label', null, 'Colour ');
scaleLab.appendChild(scaleSel);
const [hideLab, hideBox] = checkbox('hide', ' hide special tokens', 'hide');
const [wordsLab, wordsBox] = checkbox('words', ' words', 'words');
const saveBtn = el('button', null, 'Save PNG');
saveBtn.type = 'button';
saveBtn.addEventListener('click', () => {
  const c = stage.querySelector('canvas');
  if (!c) return;
  const a = document.createElement('a');
  a.href = c.toDataURL('image/png');
  a.download = 'gaze-' + state.view + '.png';
  a.click();
});
controls.append(kindLab, layerLab, headsBox, focusLab, pairLab, scaleLab, hideLab, wordsLab, saveBtn);

const note = el('div', 'note hidden');
note.id = 'note';
const stage = el('main');
stage.id = 'stage';
const tip = el('div', 'hidden');
tip.id = 'tip';
app.append(header, nav, controls, note, stage, tip);

function syncControls() {
  for (let h = 0; h < Hc; h++) {
    const on = state.sel.has(h);
    headBtns[h].classList.toggle('on', on);
    headBtns[h].style.background = on ? headColor(h) : '#fff';
    headBtns[h].style.color = on ? (h === 7 ? '#000' : '#fff') : '#000';
  }
  layerSel.value = String(state.layer);
  focusSel.value = String(state.focus);
  pairSel.value = state.pair;
  hideBox.checked = state.hide;
  wordsBox.checked = state.words;
  for (const id in tabs) tabs[id].classList.toggle('on', id === state.view);
  scaleSel.value = state.scale;
  const v = state.view;
  headsBox.classList.toggle('hidden', v === 'qk' || v === 'model' || v === 'rollout' || v === 'attrib');
  focusLab.classList.toggle('hidden', v !== 'heatmap' && v !== 'qk' && v !== 'image' && v !== 'align');
  layerLab.classList.toggle('hidden', v === 'model' || v === 'rollout' || v === 'attrib');   // attrib: its own selectors
  scaleLab.classList.toggle('hidden', v !== 'model' && v !== 'heatmap' && v !== 'steps' && v !== 'rollout' && v !== 'image' && v !== 'align' &&
                                      v !== 'attrib');
  pairLab.classList.toggle('hidden', !isPair || v === 'qk' || v === 'steps' || v === 'rollout' || v === 'image' || v === 'attrib');
  hideLab.classList.toggle('hidden', v === 'qk' || v === 'image' || v === 'align' || v === 'attrib');
  wordsLab.classList.toggle('hidden', v === 'qk' || v === 'image' || v === 'attrib');
}
function setNote(s) { note.textContent = s || ''; note.classList.toggle('hidden', !s); }
function showTip(ev, text) {
  tip.textContent = text;
  tip.classList.remove('hidden');
  const x = ev.clientX + 14, y = ev.clientY + 14;
  tip.style.left = Math.min(x, window.innerWidth - tip.offsetWidth - 4) + 'px';
  tip.style.top = Math.min(y, window.innerHeight - tip.offsetHeight - 4) + 'px';
}
function hideTip() { tip.classList.add('hidden'); }

function newCanvas(w, h) {
  const dpr = window.devicePixelRatio || 1;
  const c = el('canvas');
  c.width = Math.max(1, Math.round(w * dpr));
  c.height = Math.max(1, Math.round(h * dpr));
  c.style.width = w + 'px';
  c.style.height = h + 'px';
  const ctx = c.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.font = '12px ui-monospace, "DejaVu Sans Mono", monospace';
  ctx.textBaseline = 'middle';
  return [c, ctx];
}
function canvasPos(ev, c) { const r = c.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
function labelWidth(ctx, idx, labels) {
  let w = 0;
  for (const i of idx) w = Math.max(w, ctx.measureText(labels[i]).width);
  return Math.min(Math.ceil(w) + 8, 220);
}
function tokenRange(u) {
  return U.count[u] > 1 ? '#' + U.first[u] + '\u2013' + U.last[u] : '#' + U.first[u];
}
function unitText(u) { return '"' + U.labels[u] + '" (' + tokenRange(u) + ')'; }
function rowText(u) {   // a unit of the rows' side
  const s = U.rs;
  return '"' + s.labels[u] + '" (' + (s.count[u] > 1 ? '#' + s.first[u] + '\u2013' + s.last[u] : '#' + s.first[u]) + ')';
}

/* ---- head view: lines between two token columns -------------------------------------------- */

let headCanvas = null;   // state kept between hover redraws
function renderHead() {
  const li = state.layer;
  const hs = selHeads();
  if (!hasExact(li, 0)) {
    setNote(layerName(li) + ' was kept as block means only (size cap); its lines are not available. ' +
            'The model view and heatmap show the block means.');
    return;
  }
  const rowsV = visibleRows(), colsV = visibleCols();
  const nMax = Math.max(rowsV.length, colsV.length, 1);
  // rows shrink for long inputs so the canvas stays under browsers' size limits (~32k px)
  const rowH = Math.max(1, Math.min(nMax > 200 ? 13 : 18, Math.floor(30000 / nMax)));
  const probe = newCanvas(10, 10)[1];
  const wl = Math.max(labelWidth(probe, rowsV.map((a) => U.rows[a]), U.rs.labels), 60), wr = labelWidth(probe, colsV, U.labels);
  const gap = 260, top = 22;
  const W = wl + gap + wr + 20, H = top + Math.max(rowsV.length, colsV.length) * rowH + 10;
  const [c, ctx] = newCanvas(W, H);
  const xL = wl + 4, xR = wl + 4 + gap;
  const maps = hs.map((h) => unitMap(li, h));
  function draw() {
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#5b6470';
    ctx.textAlign = 'right';
    ctx.fillText(RS ? 'target' : 'queries', xL - 6, 9);
    ctx.textAlign = 'left';
    ctx.fillText(RS ? 'source' : 'keys', xR + 6, 9);
    const iso = state.hoverL, isoK = state.hoverR;
    // lines, alpha = weight / number of heads (bertviz), bucketed to few strokes per head
    const buckets = 24;
    for (let k = 0; k < hs.length; k++) {
      const m = maps[k], paths = [];
      for (let q = 0; q < buckets; q++) paths.push(new Path2D());
      const used = new Uint8Array(buckets);
      for (let ia = 0; ia < rowsV.length; ia++) {
        const a = rowsV[ia];
        if (iso >= 0 && a !== iso) continue;
        const y0 = top + ia * rowH + rowH / 2;
        for (let ib = 0; ib < colsV.length; ib++) {
          const b = colsV[ib];
          if (isoK >= 0 && b !== isoK) continue;
          const alpha = m[a * U.C + b] / hs.length;
          if (alpha < (iso >= 0 || isoK >= 0 ? 0.004 : 0.012)) continue;
          const q = Math.min(buckets - 1, Math.floor(Math.sqrt(alpha) * buckets));
          paths[q].moveTo(xL, y0);
          paths[q].lineTo(xR, top + ib * rowH + rowH / 2);
          used[q] = 1;
        }
      }
      ctx.strokeStyle = headColor(hs[k]);
      ctx.lineWidth = 2;
      for (let q = 0; q < buckets; q++) {
        if (!used[q]) continue;
        const t = (q + 0.5) / buckets;
        ctx.globalAlpha = Math.min(1, t * t);
        ctx.stroke(paths[q]);
      }
    }
    ctx.globalAlpha = 1;
    const label = (text, x, y, align, hi, sp) => {
      if (hi) { ctx.fillStyle = '#fde8c8'; const w = ctx.measureText(text).width + 6; ctx.fillRect(align === 'right' ? x - w + 3 : x - 3, y - rowH / 2 + 1, w, rowH - 2); }
      ctx.fillStyle = sp ? '#8a939e' : '#1b1f24';
      ctx.textAlign = align;
      ctx.fillText(text, x, y);
    };
    if (rowH < 8) return;   // too dense for labels: hover shows the tokens
    rowsV.forEach((a, ia) => { const u = U.rows[a]; label(U.rs.labels[u], xL - 6, top + ia * rowH + rowH / 2, 'right', a === iso, U.rs.special[u]); });
    colsV.forEach((b, ib) => { label(U.labels[b], xR + 6, top + ib * rowH + rowH / 2, 'left', b === isoK, U.special[b]); });
  }
  draw();
  let pending = false;
  c.addEventListener('mousemove', (ev) => {
    const [x, y] = canvasPos(ev, c);
    const i = Math.floor((y - top) / rowH);
    let nl = -1, nr = -1;
    if (x < xL + 20 && i >= 0 && i < rowsV.length) nl = rowsV[i];
    else if (x > xR - 20 && i >= 0 && i < colsV.length) nr = colsV[i];
    if (nl >= 0 && hs.length) {
      const u = U.rows[nl];
      const mean = colsV.map((b) => [b, maps.reduce((s, m) => s + m[nl * U.C + b], 0) / hs.length]);
      mean.sort((p, q) => q[1] - p[1]);
      showTip(ev, 'query ' + rowText(u) + ', ' + layerName(li) + ', mean of ' + hs.length + ' heads\n' +
                  mean.slice(0, 6).map(([b, w]) => '  \u2192 ' + U.labels[b] + '  ' + fmt(w, meta.enc === 'f16')).join('\n'));
    } else if (nr >= 0 && hs.length) {
      const mean = rowsV.map((a) => [a, maps.reduce((s, m) => s + m[a * U.C + nr], 0) / hs.length]);
      mean.sort((p, q) => q[1] - p[1]);
      showTip(ev, 'key ' + unitText(nr) + ', ' + layerName(li) + ', mean of ' + hs.length + ' heads\n' +
                  mean.slice(0, 6).map(([a, w]) => '  ' + U.rs.labels[U.rows[a]] + ' \u2192  ' + fmt(w, meta.enc === 'f16')).join('\n'));
    } else hideTip();
    if (nl !== state.hoverL || nr !== state.hoverR) {
      state.hoverL = nl;
      state.hoverR = nr;
      if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); }
    }
  });
  c.addEventListener('mouseleave', () => { hideTip(); state.hoverL = state.hoverR = -1; draw(); });
  headCanvas = { c, draw, rowsV, colsV, xL, xR, top, rowH };
  stage.appendChild(c);
  if (!hs.length) setNote('No head selected: click the head buttons to show their lines.');
}

/* ---- heat cells, shared by the model view thumbnails and the heatmap ------------------------- */

// Draws map m (row stride `stride`; rows/cols index lists rowsV/colsV) into an ImageData of
// w x h pixels, each pixel the mean of the unmasked cells it covers (cells wholly masked by
// causality are grey); vmax: top of the colour scale (0: the maximum). rowLast/colFirst: token
// spans for the causal mask (null: no mask).
function heatImage(ctx, m, stride, rowsV, colsV, w, h, vmax, rowLast, colFirst) {
  const img = ctx.createImageData(w, h), px = img.data;
  const nr = rowsV.length, nc = colsV.length, vals = new Float32Array(w * h), mask = new Uint8Array(w * h);
  let mx = 0;
  for (let y = 0; y < h; y++) {
    const r0 = Math.floor(y * nr / h), r1 = Math.max(r0 + 1, Math.floor((y + 1) * nr / h));
    for (let x = 0; x < w; x++) {
      const c0 = Math.floor(x * nc / w), c1 = Math.max(c0 + 1, Math.floor((x + 1) * nc / w));
      let s = 0, live = 0;
      for (let i = r0; i < r1; i++) {
        const base = rowsV[i] * stride, lim = rowLast ? rowLast[i] : Infinity;
        for (let j = c0; j < c1; j++) {
          if (colFirst && colFirst[j] > lim) continue;
          s += m[base + colsV[j]];
          live++;
        }
      }
      const v = live ? s / live : 0;
      vals[y * w + x] = v;
      mask[y * w + x] = live ? 0 : 1;
      if (v > mx) mx = v;
    }
  }
  const top = vmax > 0 ? vmax : mx > 0 ? mx : 1;
  for (let i = 0; i < w * h; i++) {
    const c = mask[i] ? [236, 238, 241] : rgbOf(VIRIDIS, scaleT(vals[i], top));
    px[4 * i] = c[0]; px[4 * i + 1] = c[1]; px[4 * i + 2] = c[2]; px[4 * i + 3] = 255;
  }
  return [img, top];
}
// token spans of the visible rows and columns, for heatImage's causal mask
function spans(rowsV, colsV) {
  if (!causal) return [null, null];
  return [Int32Array.from(rowsV, (a) => U.rs.last[U.rows[a]]), Int32Array.from(colsV, (b) => U.first[b])];
}
function range(n) { const v = new Array(n); for (let i = 0; i < n; i++) v[i] = i; return v; }
function summaryLabel(li, hi, y, x, h, w) {   // tooltip of a summary cell under pixel (x, y)
  const s = meta.summary, S = summaryMap(li, hi);
  const r = clamp(Math.floor(y * s.nr / h), 0, s.nr - 1), c = clamp(Math.floor(x * s.nc / w), 0, s.nc - 1);
  const q0 = qRows[Math.min(Tq - 1, r * s.block)], q1 = qRows[Math.min(Tq - 1, (r + 1) * s.block - 1)];
  const k0 = c * s.block, k1 = Math.min(T - 1, (c + 1) * s.block - 1);
  return layerName(li) + ' ' + headName(hi) + ' (block means)\nqueries #' + q0 + '\u2013' + q1 + ' \u2192 keys #' + k0 + '\u2013' + k1 +
         ': ' + fmt(S[r * s.nc + c], false);
}

/* ---- model view: layers x heads thumbnails ---------------------------------------------------- */

let modelGeom = null;
function renderModel() {
  const rowsV = visibleRows(), colsV = visibleCols();
  const avail = Math.max(600, (stage.clientWidth || 1200) - 80);
  const S = clamp(Math.floor(avail / Hc) - 6, 44, 120), gapX = 6, gapY = 6, left = 64, top = 22;
  const W = left + Hc * (S + gapX), H = top + L * (S + gapY);
  const [c, ctx] = newCanvas(W, H);
  ctx.fillStyle = '#5b6470';
  ctx.textAlign = 'center';
  for (let h = 0; h < Hc; h++) ctx.fillText(headName(h), left + h * (S + gapX) + S / 2, 10);
  ctx.textAlign = 'right';
  const dpr = window.devicePixelRatio || 1, P = Math.round(S * dpr), sp = spans(rowsV, colsV);
  let summaries = 0;
  for (let li = 0; li < L; li++) {
    const y0 = top + li * (S + gapY);
    ctx.fillStyle = '#5b6470';
    ctx.fillText(layerName(li).replace('layer ', 'L'), left - 8, y0 + S / 2);
    for (let hi = 0; hi < Hc; hi++) {
      const x0 = left + hi * (S + gapX);
      let img;
      const m = unitMap(li, hi);
      if (m) img = heatImage(ctx, m, U.C, rowsV, colsV, P, P, 0, sp[0], sp[1])[0];
      else {
        const s = meta.summary;
        img = heatImage(ctx, summaryMap(li, hi), s.nc, range(s.nr), range(s.nc), P, P, 0, null, null)[0];
        summaries++;
      }
      ctx.putImageData(img, Math.round(x0 * dpr), Math.round(y0 * dpr));
      if (!m) { ctx.fillStyle = 'rgba(255,255,255,.85)'; ctx.fillRect(x0, y0, 12, 12); ctx.fillStyle = '#5b6470'; ctx.textAlign = 'left'; ctx.fillText('\u2248', x0 + 2, y0 + 6); ctx.textAlign = 'right'; }
    }
  }
  if (summaries) setNote(summaries + ' maps (marked \u2248) are block means of ' + meta.summary.block + '\u00d7' + meta.summary.block +
                         ' tokens, without transforms: the page keeps exact weights only for the layers that fit its size cap.');
  modelGeom = { c, S, gapX, gapY, left, top, rowsV, colsV };
  c.addEventListener('mousemove', (ev) => {
    const hit = modelHit(...canvasPos(ev, c));
    if (!hit) { hideTip(); return; }
    showTip(ev, modelTip(hit));
  });
  c.addEventListener('mouseleave', hideTip);
  c.addEventListener('click', (ev) => {
    const hit = modelHit(...canvasPos(ev, c));
    if (!hit) return;
    state.layer = hit.li;
    state.focus = String(hit.hi);
    setView('heatmap');
  });
  stage.appendChild(c);
}
function modelHit(x, y) {
  const g = modelGeom;
  const hi = Math.floor((x - g.left) / (g.S + g.gapX)), li = Math.floor((y - g.top) / (g.S + g.gapY));
  if (hi < 0 || hi >= Hc || li < 0 || li >= L) return null;
  const px = x - g.left - hi * (g.S + g.gapX), py = y - g.top - li * (g.S + g.gapY);
  if (px < 0 || py < 0 || px >= g.S || py >= g.S) return null;
  return { li, hi, px, py };
}
function modelTip(hit) {
  const g = modelGeom;
  if (!hasExact(hit.li, hit.hi)) return summaryLabel(hit.li, hit.hi, hit.py, hit.px, g.S, g.S);
  if (!g.rowsV.length || !g.colsV.length) return '';
  const a = g.rowsV[Math.floor(hit.py * g.rowsV.length / g.S)], b = g.colsV[Math.floor(hit.px * g.colsV.length / g.S)];
  return cellTip(hit.li, headName(hit.hi), unitMap(hit.li, hit.hi), a, b);
}
function cellTip(li, what, m, a, b) {
  const w = m[a * U.C + b];
  return layerName(li) + ' ' + what + '\nquery ' + rowText(U.rows[a]) + '\nkey   ' + unitText(b) + '\nweight ' +
         (masked(a, b) ? '0 (masked: key after the query)' : fmt(w, meta.enc === 'f16'));
}

/* ---- heatmap: one head (or mean / max) enlarged ------------------------------------------------ */

let heatGeom = null;
// Row labels (right-aligned, left of the grid) and column labels (slanted, above it) of a
// heatmap whose rows and columns may come from different token lists (cross-attention);
// special tokens in grey.
function axisLabels(ctx, U, rowsV, colsV, x0, y0, cell) {
  ctx.textAlign = 'right';
  rowsV.forEach((a, i) => { ctx.fillStyle = U.rs.special[U.rows[a]] ? '#8a939e' : '#1b1f24'; ctx.fillText(U.rs.labels[U.rows[a]], x0 - 4, y0 + i * cell + cell / 2); });
  ctx.textAlign = 'left';
  colsV.forEach((b, i) => {
    ctx.save();
    ctx.translate(x0 + i * cell + cell / 2, y0 - 4);
    ctx.rotate(-Math.PI / 3);
    ctx.fillStyle = U.special[b] ? '#8a939e' : '#1b1f24';
    ctx.fillText(U.labels[b], 0, 0);
    ctx.restore();
  });
}

function renderHeatmap() {
  const li = state.layer, m = focusMap(li);
  const probe = newCanvas(10, 10)[1];
  if (!m) {
    const hs = focusHeads();
    if (!hs.length) { setNote('No head selected.'); return; }
    const s = meta.summary, S = summaryMap(li, hs[0]);
    if (!S) { setNote('No data for this selection.'); return; }
    setNote(layerName(li) + ' is kept as ' + s.block + '\u00d7' + s.block + ' block means (size cap); showing ' + headName(hs[0]) + '.');
    const cell = clamp(Math.floor(640 / Math.max(s.nr, s.nc)), 2, 24), W = 60 + s.nc * cell, H = 30 + s.nr * cell;
    const [c, ctx] = newCanvas(W, H);
    const dpr = window.devicePixelRatio || 1;
    const [img] = heatImage(ctx, S, s.nc, range(s.nr), range(s.nc), Math.round(s.nc * cell * dpr), Math.round(s.nr * cell * dpr), 0, null, null);
    ctx.putImageData(img, Math.round(50 * dpr), Math.round(20 * dpr));
    heatGeom = { c, summary: true, x0: 50, y0: 20, w: s.nc * cell, h: s.nr * cell, li, hi: hs[0] };
    c.addEventListener('mousemove', (ev) => {
      const [x, y] = canvasPos(ev, c), g = heatGeom;
      if (x < g.x0 || y < g.y0 || x >= g.x0 + g.w || y >= g.y0 + g.h) { hideTip(); return; }
      showTip(ev, summaryLabel(g.li, g.hi, y - g.y0, x - g.x0, g.h, g.w));
    });
    c.addEventListener('mouseleave', hideTip);
    stage.appendChild(c);
    return;
  }
  const rowsV = visibleRows(), colsV = visibleCols();
  stage.appendChild(el('div', 'sub', layerName(li) + ' \u00b7 ' + focusName() + ' \u00b7 ' + rowsV.length + ' queries \u00d7 ' +
                       colsV.length + ' keys' + (U.identity ? '' : ' (' + (state.words ? 'words' : 'tokens') +
                       (state.hide ? ', special tokens hidden, rows renormalised' : '') + ')')));
  const n = Math.max(rowsV.length, colsV.length, 1);
  const cell = clamp(Math.floor(900 / n), 1, 22);
  const showLabels = cell >= 9;
  const wl = showLabels ? labelWidth(probe, rowsV.map((a) => U.rows[a]), U.rs.labels) : 40;
  const wt = showLabels ? Math.min(160, labelWidth(probe, colsV, U.labels)) * 0.8 + 10 : 24;
  // at most 4096 px a side: beyond that each pixel is the mean of the cells it covers
  const x0 = wl + 4, y0 = wt + 6, gw = Math.min(4096, colsV.length * cell), gh = Math.min(4096, rowsV.length * cell);
  const W = x0 + gw + 90, H = y0 + gh + 20;
  const [c, ctx] = newCanvas(W, H);
  const dpr = window.devicePixelRatio || 1;
  const sp = spans(rowsV, colsV);
  const [img, vmax] = heatImage(ctx, m, U.C, rowsV, colsV, Math.round(gw * dpr), Math.round(gh * dpr), 0, sp[0], sp[1]);
  ctx.putImageData(img, Math.round(x0 * dpr), Math.round(y0 * dpr));
  if (showLabels) {
    axisLabels(ctx, U, rowsV, colsV, x0, y0, cell);
  } else {
    ctx.fillStyle = '#5b6470';
    ctx.textAlign = 'left';
    ctx.fillText('keys \u2192', x0, y0 - 10);
  }
  // colour bar
  const bx = x0 + gw + 16, bh = Math.max(60, Math.min(gh, 240));
  for (let i = 0; i < bh; i++) { ctx.fillStyle = css(rgbOf(VIRIDIS, scaleT(vmax * (1 - i / (bh - 1)), vmax))); ctx.fillRect(bx, y0 + i, 14, 1); }
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'left';
  ctx.fillText(vmax.toFixed(3), bx + 18, y0 + 4);
  if (state.scale !== 'linear') ctx.fillText((vmax / 10).toFixed(4), bx + 18, y0 + bh * (1 - scaleT(vmax / 10, vmax)));
  ctx.fillText('0', bx + 18, y0 + bh - 4);
  ctx.fillStyle = '#5b6470';
  ctx.fillText(state.scale, bx, y0 + bh + 12);
  heatGeom = { c, summary: false, x0, y0, cell, rowsV, colsV, li, m, gw, gh };
  c.addEventListener('mousemove', (ev) => {
    const hit = heatHit(...canvasPos(ev, c));
    if (!hit) { hideTip(); return; }
    showTip(ev, cellTip(heatGeom.li, focusName(), heatGeom.m, hit.a, hit.b));
  });
  c.addEventListener('mouseleave', hideTip);
  stage.appendChild(c);
}
function heatHit(x, y) {
  const g = heatGeom;
  if (!g || g.summary || x < g.x0 || y < g.y0 || x >= g.x0 + g.gw || y >= g.y0 + g.gh) return null;
  const i = Math.floor((y - g.y0) * g.rowsV.length / g.gh), j = Math.floor((x - g.x0) * g.colsV.length / g.gw);
  return { a: g.rowsV[i], b: g.colsV[j] };
}

/* ---- query / key view: q, k, q*k, q.k and softmax for one query ------------------------------ */

function qkRow(li, hi, r) {   // scores and softmax of captured row r from the stored q and k
  const v = qkOf(li, hi), d = meta.d_head, n = rowKeys(r);
  const s = new Float64Array(n);
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let t = 0; t < d; t++) dot += v.q[r * d + t] * v.k[j * d + t];
    s[j] = dot * meta.scale;
    if (s[j] > mx) mx = s[j];
  }
  const p = new Float64Array(n);
  let z = 0;
  for (let j = 0; j < n; j++) { p[j] = Math.exp(s[j] - mx); z += p[j]; }
  for (let j = 0; j < n; j++) p[j] /= z;
  return { s, p };
}
function renderQK() {
  const li = state.layer;
  let hi = state.focus === 'mean' || state.focus === 'max' ? (selHeads()[0] | 0) : state.focus | 0;
  const v = qkOf(li, hi);
  if (!v) {
    setNote('q and k are not in this page for ' + layerName(li) + ' ' + headName(hi) +
            ' (capture them with gaze run --capture attn,q,k; long inputs may leave them out to fit the size cap).');
    return;
  }
  setNote('Query/key view of ' + layerName(li) + ' ' + headName(hi) + ' on tokens (word and special-token options do not apply). ' +
          'Hover a query on the left. q\u00b7k is scaled by 1/\u221ad; softmax is recomputed from the stored q and k.');
  const d = meta.d_head;
  if (state.qtok < 0 || rowOfToken[state.qtok] < 0) state.qtok = qRows[Math.min(Tq - 1, Math.floor(Tq / 2))];
  const r = rowOfToken[state.qtok], n = rowKeys(r);
  const { s, p } = qkRow(li, hi, r);
  const raw = rawMap(li, hi);
  let amax = 1e-6;
  for (let t = 0; t < d; t++) amax = Math.max(amax, Math.abs(v.q[r * d + t]));
  for (let j = 0; j < n; j++) for (let t = 0; t < d; t++) amax = Math.max(amax, Math.abs(v.k[j * d + t]));
  const probe = newCanvas(10, 10)[1];
  const labs = tokens.map((t) => disp(t, 18)), rowLabs = RS ? rowTokens.map((t) => disp(t, 18)) : labs;
  const wl = Math.max(labelWidth(probe, range(T), labs), labelWidth(probe, qRows, rowLabs));
  const cw = clamp(Math.floor(260 / d), 1, 6), vw = cw * d, rowH = 15, top = 40;
  const xq = wl + 10, xk = xq + wl + 16, xp = xk + vw + 12, xs = xp + vw + 12, xsm = xs + 110, xw = xsm + 110;
  const W = xw + 80, H = top + Math.max(Tq, n) * rowH + 10;
  const [c, ctx] = newCanvas(W, H);
  ctx.fillStyle = '#5b6470';
  ctx.textAlign = 'left';
  ctx.fillText('query', 4, 10);
  ctx.fillText('key', xq, 10);
  ctx.fillText('k', xk, 10);
  ctx.fillText('q \u2299 k', xp, 10);
  ctx.fillText('q\u00b7k/\u221ad', xs, 10);
  ctx.fillText('softmax', xsm, 10);
  ctx.fillText('weight', xw, 10);
  // q of the chosen query, above the k column
  ctx.fillText('q', xk - 12, 28);
  for (let t = 0; t < d; t++) { ctx.fillStyle = css(rgbOf(DIVERGING, 0.5 + 0.5 * v.q[r * d + t] / amax)); ctx.fillRect(xk + t * cw, 22, cw, 12); }
  // queries
  for (let rr = 0; rr < Tq; rr++) {
    const y = top + rr * rowH + rowH / 2;
    if (rr === r) { ctx.fillStyle = '#fde8c8'; ctx.fillRect(0, y - rowH / 2, wl + 4, rowH); }
    ctx.fillStyle = rowSpecial[qRows[rr]] ? '#8a939e' : '#1b1f24';
    ctx.textAlign = 'right';
    ctx.fillText(rowLabs[qRows[rr]], wl, y);
  }
  ctx.textAlign = 'left';
  let smax = 1e-9;
  for (let j = 0; j < n; j++) smax = Math.max(smax, Math.abs(s[j]));
  let pmax = 1e-9;
  for (let j = 0; j < n; j++) { let m = 0; for (let t = 0; t < d; t++) m = Math.max(m, Math.abs(v.q[r * d + t] * v.k[j * d + t])); pmax = Math.max(pmax, m); }
  for (let j = 0; j < n; j++) {
    const y = top + j * rowH + rowH / 2;
    ctx.fillStyle = meta.special[j] ? '#8a939e' : '#1b1f24';
    ctx.fillText(labs[j], xq, y);
    for (let t = 0; t < d; t++) {
      const kv = v.k[j * d + t], pq = v.q[r * d + t] * kv;
      ctx.fillStyle = css(rgbOf(DIVERGING, 0.5 + 0.5 * kv / amax));
      ctx.fillRect(xk + t * cw, y - 6, cw, 12);
      ctx.fillStyle = css(rgbOf(DIVERGING, 0.5 + 0.5 * pq / pmax));
      ctx.fillRect(xp + t * cw, y - 6, cw, 12);
    }
    const bw = 50 * Math.abs(s[j]) / smax;
    ctx.fillStyle = s[j] >= 0 ? '#d55e00' : '#0072b2';
    ctx.fillRect(xs, y - 5, bw, 10);
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(s[j].toFixed(2), xs + 54, y);
    ctx.fillStyle = '#009e73';
    ctx.fillRect(xsm, y - 5, 50 * p[j], 10);
    ctx.fillStyle = '#1b1f24';
    ctx.fillText(p[j].toFixed(3), xsm + 54, y);
    if (raw) ctx.fillText(fmt(raw[r * T + j], meta.enc === 'f16'), xw, y);
  }
  c.addEventListener('mousemove', (ev) => {
    const [x, y] = canvasPos(ev, c);
    if (x > wl + 4) return;
    const rr = Math.floor((y - top) / rowH);
    if (rr < 0 || rr >= Tq || qRows[rr] === state.qtok) return;
    state.qtok = qRows[rr];
    rerender();
  });
  stage.appendChild(c);
}

/* ---- steps: a generated token's attention over its context ----------------------------------- */

function stepRow(li, t) {   // attention of token t over the units, mean of the selected heads
  const r = rowOfToken[t];
  const hs = selHeads();
  const out = new Float64Array(U.C);
  if (r < 0 || !hs.length) return null;
  for (const h of hs) {
    const raw = rawMap(li, h);
    if (!raw) return null;
    for (let j = 0; j < T; j++) { const b = U.col[j]; if (b >= 0) out[b] += raw[r * T + j] / hs.length; }
  }
  if (U.hidden) { let s = 0; for (let b = 0; b < U.C; b++) s += out[b]; if (s > 0) for (let b = 0; b < U.C; b++) out[b] /= s; }
  return out;
}
function renderSteps() {
  const li = state.layer;
  const box = el('div', 'steps');
  const slider = el('input');
  slider.type = 'range';
  slider.id = 'step';
  slider.min = '0';
  slider.max = String(Math.max(0, nGen - 1));
  slider.value = String(state.step);
  const t = T - nGen + state.step;
  const lab = el('span', null, 'step ' + (state.step + 1) + ' of ' + nGen + ': generated token ' + JSON.stringify(disp(tokens[t])) +
                 ' (#' + t + ') over its context, ' + layerName(li) + ', mean of ' + state.sel.size + ' heads');
  lab.id = 'step-label';
  slider.addEventListener('input', () => { state.step = slider.value | 0; rerender(); });
  box.append(slider, lab);
  stage.appendChild(box);
  const row = stepRow(li, t);
  if (!row) { setNote(state.sel.size ? layerName(li) + ' has no exact rows in this page (size cap).' : 'No head selected.'); return; }
  let mx = 0;
  for (let b = 0; b < U.C; b++) if (U.first[b] <= t && row[b] > mx) mx = row[b];
  const chips = el('div', 'chips');
  chips.id = 'chips';
  const cur = U.col[t];
  for (let b = 0; b < U.C; b++) {
    if (U.first[b] > t) break;
    const ch = el('span', 'chip', U.labels[b]);
    const v = row[b], c = rgbOf(VIRIDIS, mx > 0 ? scaleT(v, mx) : 0);
    ch.style.background = css(c);
    ch.style.color = (c[0] * 0.3 + c[1] * 0.59 + c[2] * 0.11) > 140 ? '#000' : '#fff';
    if (b === cur) ch.classList.add('cur');
    if (U.first[b] >= T - nGen) ch.classList.add('gen');
    ch.addEventListener('mousemove', (ev) => showTip(ev, layerName(li) + ' mean of ' + state.sel.size + ' heads\nquery ' +
                                                      '"' + disp(tokens[t]) + '" (#' + t + ')\nkey   ' + unitText(b) + '\nweight ' + fmt(v, meta.enc === 'f16')));
    ch.addEventListener('mouseleave', hideTip);
    chips.appendChild(ch);
  }
  stage.appendChild(chips);
  const top = [];
  for (let b = 0; b < U.C; b++) if (U.first[b] <= t) top.push([b, row[b]]);
  top.sort((p, q) => q[1] - p[1]);
  const list = el('ul', 'list');
  list.id = 'step-top';
  for (const [b, v] of top.slice(0, 8)) list.appendChild(el('li', null, fmt(v, meta.enc === 'f16') + '  ' + unitText(b)));
  stage.appendChild(list);
}

/* ---- rollout / flow: what each input token contributes to an output token through all layers -- */

// Computed in C (gaze_rollout, gaze_attention_flow) and stored as f16 of v * RO.scale (2^15, so
// values down to 1.9e-9 keep 11 bits: a decoder's rollout spans 1 to 1e-9): rollout rows of every
// output token for each embedded head fusion (causal runs: keys 0..i), flow vectors for the
// output tokens in RO.flow.tokens. Words and hidden special tokens follow the attention rules:
// an output word is the mean of its tokens' rows, an input word the sum of its tokens' values,
// rows renormalised over the visible inputs when special tokens are hidden.
const RO = meta.rollout && meta.rollout.fusions ? meta.rollout : null;
if (RO) { state.rtok = RO.default; state.fusion = RO.fusions[0]; }
function roRow(fusion, t) {   // Float32Array [T] of output token t
  const fi = RO.fusions.indexOf(fusion);
  if (fi < 0) return null;
  return cacheGet('R' + fi + ':' + t, () => {
    const n = causal ? t + 1 : T, start = causal ? t * (t + 1) / 2 : t * T, out = new Float32Array(T);
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset + RO.off[fi] + 2 * start, n);
    for (let j = 0; j < n; j++) out[j] = F16[u[j]] / RO.scale;
    return out;
  });
}
function flowRow(t) {
  const k = RO.flow.tokens.indexOf(t);
  if (k < 0) return null;
  const u = new Uint16Array(bytes.buffer, bytes.byteOffset + RO.flow.off + 2 * T * k, T), out = new Float32Array(T);
  for (let j = 0; j < T; j++) out[j] = F16[u[j]] / RO.scale;
  return out;
}
function unitTokens(u) { const v = []; for (let t = U.first[u]; t <= U.last[u]; t++) if (U.col[t] === u) v.push(t); return v; }
function roUnits(get, toks) {   // values over the units for output tokens toks (mean), or null when one lacks data
  const out = new Float64Array(U.C);
  for (const t of toks) {
    const row = get(t);
    if (!row) return null;
    for (let j = 0; j < T; j++) { const b = U.col[j]; if (b >= 0) out[b] += row[j] / toks.length; }
  }
  if (U.hidden) { let s = 0; for (let b = 0; b < U.C; b++) s += out[b]; if (s > 0) for (let b = 0; b < U.C; b++) out[b] /= s; }
  return out;
}
// The output: state.rtok's unit, or that token alone when it is a hidden special token (hiding
// applies to the inputs; [CLS] stays the usual output of an encoder).
function roOut() {
  const u = U.col[state.rtok];
  if (u >= 0) return { u, toks: unitTokens(u), text: unitText(u) };
  return { u: -1, toks: [state.rtok], text: '"' + disp(tokens[state.rtok]) + '" (#' + state.rtok + ', hidden)' };
}
function roLayers() { return RO.layers + ' captured layer' + (RO.layers > 1 ? 's' : ''); }
function roFmt(v) { return v === 0 ? '0' : v.toPrecision(4); }
// a bar's number: 4 significant digits from 1e-3 up, scientific below (at most 8 characters:
// a decoder's rollout spans 1 .. 1e-9, and "0.00001234" would run into the next bars)
function roNum(v) { return v === 0 ? '0' : Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3); }
// bar length in [0, 1] of v against top: linear, square root, or log over 8 decades (rollout
// of a decoder puts ~1 on its first token and 1e-7..1e-9 on the others)
function roBar(v, top) {
  if (!(v > 0) || !(top > 0)) return 0;
  const x = v / top;
  if (state.scale === 'sqrt') return Math.min(1, Math.sqrt(x));
  if (state.scale === 'log') return clamp(1 + Math.log10(x) / 8, 0, 1);
  return Math.min(1, x);
}
let roGeom = null;
function renderRollout() {
  if (!RO) {
    setNote('Rollout and flow are not in this page: ' + (meta.rollout && meta.rollout.why ? meta.rollout.why : 'not computed') + '.');
    return;
  }
  const out = roOut(), uo = out.u, fusion = state.fusion, last = Math.max(...out.toks);
  const ro = roUnits((t) => roRow(fusion, t), out.toks), fl = roUnits(flowRow, out.toks);
  const flowTok = RO.flow.tokens;
  // controls: output token and head fusion
  const box = el('div', 'steps');
  const sel = el('select');
  sel.id = 'ro-token';
  for (let t = 0; t < T; t++) {   // one option a unit (at its first token) and a hidden token
    const u = U.col[t];
    if (u >= 0 && U.first[u] !== t) continue;
    const toks = u >= 0 ? unitTokens(u) : [t];
    const o = el('option', null, (u >= 0 ? tokenRange(u) + ' ' + U.labels[u] : '#' + t + ' ' + disp(tokens[t]) + ' (hidden)') +
                 (toks.every((x) => flowTok.includes(x)) ? '  (flow)' : ''));
    o.value = String(t);
    sel.appendChild(o);
  }
  sel.value = String(out.toks[0]);
  sel.addEventListener('change', () => { state.rtok = sel.value | 0; rerender(); });
  const fsel = el('select');
  fsel.id = 'ro-fusion';
  for (const f of RO.fusions) { const o = el('option', null, f); o.value = f; fsel.appendChild(o); }
  fsel.value = fusion;
  fsel.addEventListener('change', () => { state.fusion = fsel.value; rerender(); });
  const l1 = el('label', null, 'Output token '), l2 = el('label', null, 'Head fusion ');
  l1.appendChild(sel);
  l2.appendChild(fsel);
  box.append(l1, l2);
  stage.appendChild(box);
  const cap = el('div', 'sub', 'How much each input ' + (state.words ? 'word' : 'token') + ' contributes to output ' + out.text +
                 ' through the ' + roLayers() + (RO.layers < meta.n_layers ? ' (of ' + meta.n_layers + ')' : '') + ' (heads fused by ' + fusion + ', 0.5\u00b7A + 0.5\u00b7I, rows renormalised' +
                 (RO.discard > 0 ? ', lowest ' + RO.discard + ' discarded' : '') + '). Rollout: the product of the layers; flow: the ' +
                 'maximum flow through the layer graph (' + RO.flow.fusion + ' fusion), normalised. Bars: ' +
                 (state.scale === 'log' ? 'log over 8 decades' : state.scale) + ', scaled to the largest input other than the output ' +
                 'itself (longer bars clipped, notched). Click a token to make it the output.');
  cap.id = 'ro-caption';
  stage.appendChild(cap);
  {   // a decoder's rollout piles onto its first token (the attention sink): say so, not "broken"
    let sum = 0;
    for (let b = 0; b < U.C; b++) sum += ro[b];
    const first = U.col[0];
    if (causal && first >= 0 && first !== uo && sum > 0 && ro[first] / sum >= 0.99) {
      const sink = el('div', 'sub', 'Rollout collapsed onto token 0 (attention sink): ' + (100 * ro[first] / sum).toFixed(1) +
                      ' % of the mass. The other values are tiny but ordered (log bars, scientific notation); ' +
                      '`gaze rollout --sink-aware` leaves the sink out of every layer (a display variant).');
      sink.id = 'ro-sink';
      stage.appendChild(sink);
    }
  }
  if (!fl) {
    setNote('Attention flow is in this page for ' + (flowTok.length ? flowTok.length + ' output token' + (flowTok.length > 1 ? 's' : '') +
            ' (' + flowTok.slice(0, 12).map((t) => '#' + t).join(', ') + (flowTok.length > 12 ? ', \u2026' : '') + ')' : 'no output token') +
            (RO.flow.skipped ? ': too slow to compute unasked at this size' : '') +
            '; each costs one max-flow per input token. gaze view --flow-token LIST (or all) adds more.');
  }
  // bars scaled to the largest input other than the output itself (an encoder's [CLS] keeps
  // half of its own rollout); the output's bar is clipped and marked when longer
  let mr = 0, mf = 0;
  for (let b = 0; b < U.C; b++) if (b !== uo || U.C === 1) { if (ro[b] > mr) mr = ro[b]; if (fl && fl[b] > mf) mf = fl[b]; }
  // a strip over the input text, coloured by rollout
  const chips = el('div', 'chips strip');
  chips.id = 'ro-chips';
  const tipOf = (b) => 'output ' + out.text + '\ninput  ' + unitText(b) + '\nrollout (' + fusion + ' fusion, ' + roLayers() + ') ' +
                       roFmt(ro[b]) + '\nflow' + (fl ? ' (' + RO.flow.fusion + ' fusion) ' + roFmt(fl[b]) : ' not in this page for this output');
  for (let b = 0; b < U.C; b++) {
    const ch = el('span', 'chip', U.labels[b]), c = rgbOf(VIRIDIS, roBar(ro[b], mr));
    if (causal && U.first[b] > last) { ch.style.background = '#eceef1'; ch.style.color = '#8a939e'; }   // after the output
    else {
      ch.style.background = css(c);
      ch.style.color = (c[0] * 0.3 + c[1] * 0.59 + c[2] * 0.11) > 140 ? '#000' : '#fff';
    }
    if (b === uo) ch.classList.add('cur');
    ch.addEventListener('mousemove', (ev) => showTip(ev, tipOf(b)));
    ch.addEventListener('mouseleave', hideTip);
    ch.addEventListener('click', () => { state.rtok = U.first[b]; rerender(); });
    chips.appendChild(ch);
  }
  stage.appendChild(chips);
  // bars: one row per input unit, rollout and flow side by side
  const probe = newCanvas(10, 10)[1];
  const rowH = Math.max(4, Math.min(U.C > 200 ? 13 : 16, Math.floor(30000 / Math.max(1, U.C))));
  const wi = 44, wl = labelWidth(probe, range(U.C), U.labels), BW = 240, top = 24;
  // the numbers sit in their own column right of each bar, right-aligned, as wide as the
  // widest of them, so they never reach into the next bars
  let NW = probe.measureText('0.000').width;
  for (let b = 0; b < U.C; b++) {
    NW = Math.max(NW, probe.measureText(roNum(ro[b])).width);
    if (fl) NW = Math.max(NW, probe.measureText(roNum(fl[b])).width);
  }
  NW = Math.ceil(NW);
  const xL = wi + wl, xR = xL + 10, xF = xR + BW + 8 + NW + 16;
  const W = xF + BW + 8 + NW + 8, H = top + U.C * rowH + 8;
  const [c, ctx] = newCanvas(W, H);
  c.id = 'ro-canvas';
  let hov = -1;
  function draw() {
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#5b6470';
    ctx.textAlign = 'left';
    ctx.fillText('rollout (' + fusion + ')', xR, 10);
    ctx.fillText(fl ? 'flow (' + RO.flow.fusion + ')' : 'flow: not in this page', xF, 10);
    ctx.textAlign = 'right';
    ctx.fillText('input', xL - 4, 10);
    for (let b = 0; b < U.C; b++) {
      const y = top + b * rowH, after = causal && U.first[b] > last;
      if (b === uo || b === hov) { ctx.fillStyle = b === uo ? '#fde8c8' : '#eef1f4'; ctx.fillRect(0, y, W, rowH); }
      const bh = Math.max(1, rowH - 4);
      ctx.fillStyle = '#0072b2';
      ctx.fillRect(xR, y + 2, BW * roBar(ro[b], mr), bh);
      if (fl) { ctx.fillStyle = '#d55e00'; ctx.fillRect(xF, y + 2, BW * roBar(fl[b], mf), bh); }
      ctx.fillStyle = '#fff';   // clipped: a notch at the end
      if (ro[b] > mr && mr > 0) ctx.fillRect(xR + BW - 6, y + 2, 2, bh);
      if (fl && fl[b] > mf && mf > 0) ctx.fillRect(xF + BW - 6, y + 2, 2, bh);
      if (rowH < 8) continue;
      ctx.textAlign = 'right';
      ctx.fillStyle = '#8a939e';
      ctx.fillText(String(U.first[b]), wi - 6, y + rowH / 2);
      ctx.fillStyle = U.special[b] || after ? '#8a939e' : '#1b1f24';
      ctx.fillText(U.labels[b], xL - 4, y + rowH / 2);
      ctx.fillStyle = '#1b1f24';
      if (!after) {
        ctx.fillText(roNum(ro[b]), xR + BW + 8 + NW, y + rowH / 2);
        if (fl) ctx.fillText(roNum(fl[b]), xF + BW + 8 + NW, y + rowH / 2);
      }
    }
  }
  draw();
  const hit = (ev) => { const [, y] = canvasPos(ev, c), b = Math.floor((y - top) / rowH); return b >= 0 && b < U.C ? b : -1; };
  c.addEventListener('mousemove', (ev) => {
    const b = hit(ev);
    if (b < 0) hideTip(); else showTip(ev, tipOf(b));
    if (b !== hov) { hov = b; draw(); }
  });
  c.addEventListener('mouseleave', () => { hideTip(); hov = -1; draw(); });
  c.addEventListener('click', (ev) => { const b = hit(ev); if (b >= 0) { state.rtok = U.first[b]; rerender(); } });
  stage.appendChild(c);
  roGeom = { c, top, rowH, uo, out, ro, fl, xR, xF, BW, NW, ctx };
}

/* ---- alignment: cross-attention as a target x source matrix (translation's figure) ---------- */

// One layer, the mean of the selected heads (all, by default), their max or one head; tokens or
// words. Words follow gaze_cross_alignment (render/plot_align.c draws the same figure): a target
// word's row is the mean of its pieces' rows, a source word's column the sum of its pieces'
// columns, special tokens are words of their own, nothing is hidden. Each row's strongest source
// is outlined and listed below. Long inputs: the matrix is at most 4096 px a side (a pixel is the
// mean of the cells it covers), labels and numbers only when a cell is large enough to hold them.
let alignGeom = null;
function renderAlign() {
  if (!RS) { setNote('The alignment view shows cross-attention; this kind has none.'); return; }
  if (state.hide) { state.hide = false; buildUnits(); syncControls(); }
  const li = state.layer, m = focusMap(li);
  if (!m) {
    setNote(focusHeads().length ? layerName(li) + ' was kept as block means only (size cap; raise --max-mb): the alignment needs ' +
            'exact weights. The model view and heatmap show the block means.' : 'No head selected.');
    return;
  }
  const rowsV = visibleRows(), colsV = visibleCols();
  stage.appendChild(el('div', 'sub', 'alignment \u00b7 ' + layerName(li) + ' \u00b7 ' + focusName() + ' \u00b7 ' + rowsV.length +
                       ' target \u00d7 ' + colsV.length + ' source ' + (state.words ? 'words' : 'tokens') +
                       ' \u00b7 rows sum to 1 over the source; outlined: each row\u2019s strongest source'));
  const probe = newCanvas(10, 10)[1];
  const n = Math.max(rowsV.length, colsV.length, 1);
  const cell = clamp(Math.floor(720 / n), 1, 40);
  const showLabels = cell >= 9, showNums = cell >= 34;
  const wl = showLabels ? labelWidth(probe, rowsV.map((a) => U.rows[a]), U.rs.labels) + 56 : 60;
  const wt = showLabels ? Math.min(160, labelWidth(probe, colsV, U.labels)) * 0.8 + 46 : 40;
  const x0 = wl + 4, y0 = wt + 6, gw = Math.min(4096, colsV.length * cell), gh = Math.min(4096, rowsV.length * cell);
  const W = x0 + gw + 90, H = y0 + gh + 20;
  const [c, ctx] = newCanvas(W, H);
  c.id = 'align-canvas';
  const dpr = window.devicePixelRatio || 1;
  const [img, vmax] = heatImage(ctx, m, U.C, rowsV, colsV, Math.round(gw * dpr), Math.round(gh * dpr), 0, null, null);
  ctx.putImageData(img, Math.round(x0 * dpr), Math.round(y0 * dpr));
  ctx.fillStyle = '#5b6470';
  ctx.textAlign = 'left';
  ctx.fillText('source \u2192', x0, 10);
  ctx.save();
  ctx.translate(10, y0);
  ctx.rotate(Math.PI / 2);
  ctx.fillText('target \u2192', 0, 0);
  ctx.restore();
  // each row's strongest source unit
  const best = rowsV.map((a) => {
    let k = 0;
    for (let i = 1; i < colsV.length; i++) if (m[a * U.C + colsV[i]] > m[a * U.C + colsV[k]]) k = i;
    return k;
  });
  if (showLabels) {
    axisLabels(ctx, U, rowsV, colsV, x0, y0, cell);
  }
  if (cell >= 4 && gw === colsV.length * cell && gh === rowsV.length * cell) {
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = cell >= 12 ? 2 : 1;
    best.forEach((k, i) => ctx.strokeRect(x0 + k * cell + 1, y0 + i * cell + 1, cell - 2, cell - 2));
  }
  if (showNums) {
    ctx.textAlign = 'center';
    ctx.font = '10px ui-monospace, "DejaVu Sans Mono", monospace';
    rowsV.forEach((a, i) => colsV.forEach((b, j) => {
      const v = m[a * U.C + b], t = scaleT(v, vmax);
      ctx.fillStyle = t > 0.6 ? '#000' : '#fff';
      ctx.fillText(v.toFixed(2), x0 + j * cell + cell / 2, y0 + i * cell + cell / 2);
    }));
    ctx.font = '12px ui-monospace, "DejaVu Sans Mono", monospace';
  }
  const bx = x0 + gw + 16, bh = Math.max(60, Math.min(gh, 240));
  for (let i = 0; i < bh; i++) { ctx.fillStyle = css(rgbOf(VIRIDIS, scaleT(vmax * (1 - i / (bh - 1)), vmax))); ctx.fillRect(bx, y0 + i, 14, 1); }
  ctx.fillStyle = '#1b1f24';
  ctx.textAlign = 'left';
  ctx.fillText(vmax.toFixed(3), bx + 18, y0 + 4);
  ctx.fillText('0', bx + 18, y0 + bh - 4);
  ctx.fillStyle = '#5b6470';
  ctx.fillText(state.scale, bx, y0 + bh + 12);
  alignGeom = { c, x0, y0, cell, rowsV, colsV, li, m, gw, gh, best };
  c.addEventListener('mousemove', (ev) => {
    const hit = alignHit(...canvasPos(ev, c));
    if (!hit) { hideTip(); return; }
    showTip(ev, alignTip(hit.a, hit.b));
  });
  c.addEventListener('mouseleave', hideTip);
  stage.appendChild(c);
  const list = el('ul', 'list');
  list.id = 'align-list';
  rowsV.slice(0, 400).forEach((a, i) => {
    const b = colsV[best[i]];
    list.appendChild(el('li', null, U.rs.labels[U.rows[a]] + '  \u2192  ' + U.labels[b] + '  ' + fmt(m[a * U.C + b], meta.enc === 'f16')));
  });
  if (rowsV.length > 400) list.appendChild(el('li', null, '\u2026 ' + (rowsV.length - 400) + ' more rows'));
  stage.appendChild(list);
}
function alignHit(x, y) {
  const g = alignGeom;
  if (!g || x < g.x0 || y < g.y0 || x >= g.x0 + g.gw || y >= g.y0 + g.gh) return null;
  const i = Math.floor((y - g.y0) * g.rowsV.length / g.gh), j = Math.floor((x - g.x0) * g.colsV.length / g.gw);
  return { a: g.rowsV[i], b: g.colsV[j] };
}
function alignTip(a, b) {
  const g = alignGeom;
  return layerName(g.li) + ' ' + focusName() + '\ntarget ' + rowText(U.rows[a]) + '\nsource ' + unitText(b) + '\nweight ' +
         fmt(g.m[a * U.C + b], meta.enc === 'f16');
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

// the image tab of image runs (image.js, appended to this file by scripts/embed-assets)
const IMG = meta.image ? gazeImageTab({
  meta, bytes, el, state, rowOfToken, rawMap, hasExact, focusHeads, layerName, headName, disp, fmt, css, rgbOf, VIRIDIS,
  scaleT, newCanvas, canvasPos, showTip, hideTip, setNote, rerender, setView, hover, canvasSig, stage, tabs,
}) : null;
// the attribution tab of pages made with gaze view --attrib (attrib.js, appended likewise)
const ATT = meta.attrib ? gazeAttribTab({
  meta, bytes, el, state, disp, css, rgbOf, VIRIDIS, scaleT, newCanvas, canvasPos, showTip, hideTip, setNote, setView, stage,
}) : null;

function setView(v) {
  if (v === 'align' && !RS && hasCross) { switchKind('cross', 'align'); return; }   // the cross kind draws it
  if (!tabs[v] || tabs[v].disabled || tabs[v].classList.contains('hidden')) v = 'head';
  state.view = v;
  state.hoverL = state.hoverR = -1;
  render();
}
function rerender() {   // keep the scroll position (hover-driven redraws)
  const x = stage.scrollLeft, y = stage.scrollTop;
  render();
  stage.scrollLeft = x;
  stage.scrollTop = y;
}
function render() {
  syncControls();
  hideTip();
  setNote('');
  stage.textContent = '';
  headCanvas = modelGeom = heatGeom = roGeom = alignGeom = null;
  if (state.view === 'head') renderHead();
  else if (state.view === 'model') renderModel();
  else if (state.view === 'heatmap') renderHeatmap();
  else if (state.view === 'qk') renderQK();
  else if (state.view === 'steps') renderSteps();
  else if (state.view === 'rollout') renderRollout();
  else if (state.view === 'image' && IMG) IMG.render();
  else if (state.view === 'attrib' && ATT) ATT.render();
  else if (state.view === 'align') renderAlign();
}

// #view=model&layer=2&head=3&hide&words&pair=AB: the first view (layer and head are model numbers);
// after a kind switch, what it carries instead
if (carry) {
  const li = meta.layers.indexOf(carry.layer);
  state.layer = li >= 0 ? li : Math.max(0, Math.floor(meta.exact.findIndex((c) => c) / Hc));
  state.scale = carry.scale;
  state.hide = carry.hide;
  state.words = carry.words;
  if (carry.focus === 'mean' || carry.focus === 'max' || (carry.focus | 0) < Hc) state.focus = carry.focus;
  buildUnits();
  setView(carry.view);
} else {
  const want = hash.get('view') || meta.view || 'head';
  const li = meta.layers.indexOf(parseInt(hash.get('layer'), 10));
  if (li >= 0) state.layer = li;
  else { const first = meta.exact.findIndex((c) => c); if (first >= 0) state.layer = Math.floor(first / Hc); }
  const hi = meta.heads.indexOf(parseInt(hash.get('head'), 10));
  if (hi >= 0) { state.focus = String(hi); }
  if (['linear', 'sqrt', 'log'].includes(hash.get('scale'))) state.scale = hash.get('scale');
  if (hash.has('hide')) state.hide = true;
  if (hash.has('words')) state.words = true;
  const rt = parseInt(hash.get('token'), 10);
  if (rt >= 0 && rt < T) state.rtok = rt;
  if (RO && RO.fusions.includes(hash.get('fusion'))) state.fusion = hash.get('fusion');
  if (['AA', 'AB', 'BA', 'BB'].includes(hash.get('pair'))) state.pair = hash.get('pair');
  buildUnits();
  setView(want);
}
const ttiMs = performance.now();
onResize = () => { if (state.view === 'model') rerender(); };

/* ---- self-test (#selftest): drives the page like a user and writes what it saw ----------------- */

function canvasSig() {   // a cheap fingerprint of what the stage shows
  const c = stage.querySelector('canvas');
  let h = 2166136261 >>> 0;
  const mix = (x) => { h = Math.imul(h ^ x, 16777619) >>> 0; };
  if (c) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 29) mix(d[i]);
    mix(c.width); mix(c.height);
  }
  const s = stage.textContent;
  for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
  return h;
}
function hover(target, x, y) {
  const r = target.getBoundingClientRect();
  target.dispatchEvent(new MouseEvent('mousemove', { clientX: Math.round(r.left + x), clientY: Math.round(r.top + y), bubbles: true }));
  return tip.classList.contains('hidden') ? '' : tip.textContent;
}
function selftest() {
  const checks = [], probes = [];
  const check = (name, ok, detail) => checks.push({ name, ok: !!ok, detail: detail === undefined ? '' : String(detail) });
  const firstExact = (() => { for (let li = 0; li < L; li++) if (hasExact(li, 0)) return li; return -1; })();
  // the page as loaded
  const scripts = document.querySelectorAll('script');
  const kinds = Array.from(scripts).map((s) => s.type || 'js').join(',');
  check('scripts', scripts.length === 3 && kinds === 'application/json,application/octet-stream,js', kinds);
  const bad = document.querySelectorAll('img, iframe, object, embed, svg, link, form, base, frame, audio, video');
  check('no-injected-elements', bad.length === 0, bad.length);
  let onattr = 0;
  for (const e of document.querySelectorAll('*')) for (const a of e.attributes) if (/^on/i.test(a.name)) onattr++;
  check('no-inline-handlers', onattr === 0, onattr);
  check('text-as-text', meta.text === null || textP.textContent.indexOf(meta.text) >= 0);
  check('first-render', stage.childNodes.length > 0 || !note.classList.contains('hidden'));
  // selectors change what is shown
  setView('heatmap');
  state.focus = 'mean';
  if (firstExact >= 0) { state.layer = firstExact; }
  render();
  if (L > 1) {
    const s0 = canvasSig();
    layerSel.value = String((state.layer + 1) % L);
    layerSel.dispatchEvent(new Event('change'));
    check('layer-select', canvasSig() !== s0 && state.layer === ((firstExact + 1) % L), state.layer);
    layerSel.value = String(Math.max(0, firstExact));
    layerSel.dispatchEvent(new Event('change'));
  }
  if (Hc > 1) {
    const s0 = canvasSig();
    headBtns[0].click();
    check('head-toggle', canvasSig() !== s0 && !state.sel.has(0), state.sel.size);
    headBtns[0].click();
  }
  setView('head');
  {
    const s0 = canvasSig(), c0 = U.C, nSpecial = meta.special.reduce((a, b) => a + b, 0);
    hideBox.checked = true;
    hideBox.dispatchEvent(new Event('change'));
    check('hide-special', U.C === c0 - nSpecial && (nSpecial === 0 || canvasSig() !== s0), c0 + '->' + U.C);
    const s1 = canvasSig();
    wordsBox.checked = true;
    wordsBox.dispatchEvent(new Event('change'));
    check('words', U.C === meta.words_hidden.text.length && (U.C === c0 - nSpecial || canvasSig() !== s1), U.C);
    wordsBox.checked = false;
    wordsBox.dispatchEvent(new Event('change'));
    hideBox.checked = false;
    hideBox.dispatchEvent(new Event('change'));
    check('back-to-tokens', U.C === T, U.C);
  }
  if (isPair) {
    pairSel.value = 'AB';
    pairSel.dispatchEvent(new Event('change'));
    const g = headCanvas, nA = U.rows.filter((u) => U.seg[u] === 0).length, nB = range(U.C).filter((b) => U.seg[b] === 1).length;
    check('pair-filter', g && g.rowsV.length === nA && g.colsV.length === nB, g ? g.rowsV.length + 'x' + g.colsV.length : 'none');
    pairSel.value = 'all';
    pairSel.dispatchEvent(new Event('change'));
  }
  // hovering a token in the head view isolates its lines
  if (headCanvas) {
    const g = headCanvas, s0 = canvasSig();
    const text = hover(g.c, g.xL - 10, g.top + g.rowH * 1.5);
    g.draw();   // the page redraws on the next animation frame; the test draws now
    check('head-hover', state.hoverL === g.rowsV[1] && canvasSig() !== s0 && text.indexOf('query') === 0, text.split('\n')[0]);
    g.c.dispatchEvent(new MouseEvent('mouseleave'));
  }
  // known cells: the heatmap of one head under each transform, the model view, the steps view.
  // Probes record the tooltip as shown; the e2e checker parses it (layer, head, token ranges,
  // weight) and recomputes the weight from the run file by the C rules.
  if (firstExact >= 0) {
    const li = firstExact, hi = Hc - 1;
    for (const [mode, hide, words] of [['tokens', false, false], ['hide', true, false], ['words', false, true], ['words+hide', true, true]]) {
      state.hide = hide;
      state.words = words;
      buildUnits();
      state.layer = li;
      state.focus = String(hi);
      setView('heatmap');
      const g = heatGeom;
      if (!g || g.summary || !g.rowsV.length) continue;
      const ia = Math.floor(g.rowsV.length / 2), a = g.rowsV[ia];
      let best = 0;   // the strongest key of that row (a cell worth checking), key 0, the diagonal
      for (let ib = 0; ib < g.colsV.length; ib++) if (g.m[a * U.C + g.colsV[ib]] > g.m[a * U.C + g.colsV[best]]) best = ib;
      const diag = Math.max(0, g.colsV.indexOf(U.rows[a]));
      for (const ib of new Set([best, 0, diag])) {
        const text = hover(g.c, g.x0 + (ib + 0.5) * g.gw / g.colsV.length, g.y0 + (ia + 0.5) * g.gh / g.rowsV.length);
        probes.push({ view: 'heatmap', mode, text });
      }
    }
    state.hide = state.words = false;
    buildUnits();
    setView('model');
    const mg = modelGeom, S = mg.S;
    const x = mg.left + hi * (S + mg.gapX) + Math.floor(S / 2), y = mg.top + li * (S + mg.gapY) + Math.floor(S / 3);
    probes.push({ view: 'model', mode: 'tokens', text: hover(mg.c, x, y) });
    // clicking a thumbnail enlarges it
    const rect = mg.c.getBoundingClientRect();
    mg.c.dispatchEvent(new MouseEvent('click', { clientX: Math.round(rect.left + x), clientY: Math.round(rect.top + y) }));
    check('model-click', state.view === 'heatmap' && state.layer === li && state.focus === String(hi), state.view);
  }
  // the alignment view (cross-attention): hovered cells under mean / one head, tokens / words;
  // the checker recomputes each from the run's cross.attention.L by gaze_cross_alignment's rules
  if (RS && firstExact >= 0) {
    for (const [mode, words, focus] of [['tokens', false, 'mean'], ['words', true, 'mean'], ['tokens', false, String(Hc - 1)], ['words', true, '0']]) {
      state.words = words;
      state.hide = true;   // the alignment view shows every token: it turns hiding off
      buildUnits();
      state.layer = firstExact;
      state.focus = focus;
      setView('align');
      const g = alignGeom;
      check('align-view', g && $('align-canvas') && !state.hide && U.C === (words ? meta.words.text.length : T) &&
            $('align-list').childNodes.length === Math.min(400, g.rowsV.length) + (g.rowsV.length > 400 ? 1 : 0), mode + ' ' + focus);
      if (!g || !g.rowsV.length) continue;
      let worst = 0;   // rows sum to 1 over the source
      for (const a of g.rowsV) { let sum = 0; for (const b of g.colsV) sum += g.m[a * U.C + b]; worst = Math.max(worst, Math.abs(sum - 1)); }
      check('align-rows-sum', worst < (meta.enc === 'f16' ? 5e-3 : 0.05), worst.toFixed(5));
      for (const ia of new Set([0, g.rowsV.length >> 1, g.rowsV.length - 1])) {
        for (const ib of new Set([g.best[ia], 0, g.colsV.length - 1])) {
          // cell centres, kept a pixel inside the matrix (1-pixel cells of long inputs round)
          const at = (i, n, len) => Math.min((i + 0.5) * len / n, len - 1.5);
          const text = hover(g.c, g.x0 + at(ib, g.colsV.length, g.gw), g.y0 + at(ia, g.rowsV.length, g.gh));
          probes.push({ view: 'align', mode, text });
        }
      }
    }
    state.words = state.hide = false;
    state.focus = 'mean';
    buildUnits();
  }
  // a block-mean summary cell, when the page has any
  const sumAt = meta.exact.findIndex((c) => !c);
  if (sumAt >= 0) {
    setView('model');
    const mg = modelGeom, S = mg.S, li = Math.floor(sumAt / Hc), hi = sumAt % Hc;
    const x = mg.left + hi * (S + mg.gapX) + Math.floor(S / 3), y = mg.top + li * (S + mg.gapY) + Math.floor(S / 2);
    probes.push({ view: 'model', mode: 'summary', text: hover(mg.c, x, y) });
  }
  // q/k view: softmax of the stored q.k reproduces the stored weights
  const qkAt = meta.qk.findIndex((c) => c);
  if (qkAt >= 0) {
    const li = Math.floor(qkAt / Hc), hi = qkAt % Hc, m = rawMap(li, hi);
    let worst = 0;
    for (let r = 0; r < Tq; r++) {
      const { p } = qkRow(li, hi, r);
      for (let j = 0; j < p.length; j++) worst = Math.max(worst, Math.abs(p[j] - m[r * T + j]));
    }
    check('qk-softmax', worst < (meta.enc === 'f16' ? 0.02 : 0.03), worst.toFixed(5));
    state.layer = li;
    state.focus = String(hi);
    setView('qk');
    const s0 = canvasSig();
    state.qtok = qRows[0];
    rerender();
    check('qk-view', state.view === 'qk' && stage.querySelector('canvas') && canvasSig() !== s0);
  }
  if (nGen > 1 && firstExact >= 0) {
    state.layer = firstExact;
    state.step = 0;
    setView('steps');
    const s0 = $('step-label').textContent, n0 = $('chips').childNodes.length;
    const sl = $('step');
    sl.value = String(nGen - 1);
    sl.dispatchEvent(new Event('input'));
    check('steps-slider', $('step-label').textContent !== s0 && $('chips').childNodes.length === n0 + nGen - 1,
          n0 + '->' + $('chips').childNodes.length);
    const chips = $('chips').childNodes;
    for (const ch of [chips[0], chips[chips.length - 1]]) {
      const r = ch.getBoundingClientRect();
      ch.dispatchEvent(new MouseEvent('mousemove', { clientX: Math.round(r.left + 2), clientY: Math.round(r.top + 2), bubbles: true }));
      probes.push({ view: 'steps', mode: 'tokens', text: tip.classList.contains('hidden') ? '' : tip.textContent });
    }
  }
  // rollout / flow panel: selecting an output token changes the bars; hovered values are
  // checked by the e2e checker against `gaze rollout --json` and `gaze flow --json`
  if (RO) {
    state.hide = state.words = false;
    buildUnits();
    state.rtok = RO.default;
    state.fusion = RO.fusions[0];
    setView('rollout');
    check('rollout-panel', state.view === 'rollout' && $('ro-canvas') && $('ro-token') && $('ro-chips') &&
          $('ro-chips').childNodes.length === U.C, U.C);
    const rowY = (b) => roGeom.top + (b + 0.5) * roGeom.rowH;
    const probeRo = (mode) => {   // the strongest input, the first, the output itself (others when they coincide)
      const g = roGeom;
      let best = 0;
      for (let b = 0; b < U.C; b++) if (g.ro[b] > g.ro[best]) best = b;
      const pick = Array.from(new Set([best, 0, Math.max(0, g.uo), U.C - 1, U.C >> 1, 1].filter((b) => b < U.C))).slice(0, 3);
      for (const b of pick) probes.push({ view: 'rollout', mode, text: hover(g.c, 60, rowY(b)) });
    };
    probeRo('tokens');
    {   // every bar's number fits its column, which ends before the next bars; tiny values in e-notation
      const g = roGeom;
      let worst = 0, tiny = true;
      for (let b = 0; b < U.C; b++)
        for (const v of g.fl ? [g.ro[b], g.fl[b]] : [g.ro[b]]) {
          worst = Math.max(worst, g.ctx.measureText(roNum(v)).width - g.NW);
          if (v > 0 && v < 1e-3 && roNum(v).indexOf('e') < 0) tiny = false;
        }
      let sum = 0;
      for (let b = 0; b < U.C; b++) sum += g.ro[b];
      const f0 = U.col[0], coll = causal && f0 >= 0 && f0 !== g.uo && sum > 0 && g.ro[f0] / sum >= 0.99;
      check('rollout-sink-note', coll === !!$('ro-sink'), String(coll));
      check('rollout-numbers', worst <= 0 && g.xR + g.BW + 8 + g.NW < g.xF && tiny && roNum(1.234e-7) === '1.23e-7',
            'overflow ' + worst.toFixed(1) + ' px');
    }
    check('rollout-flow-default', RO.flow.skipped || (roGeom.fl !== null) === RO.flow.tokens.includes(RO.default), RO.flow.tokens.join(','));
    const s0 = canvasSig(), t0 = state.rtok, sel = $('ro-token');
    const other = U.first[(Math.max(0, roGeom.uo) + Math.max(1, U.C >> 1)) % U.C];
    sel.value = String(other);
    sel.dispatchEvent(new Event('change'));
    check('rollout-select', state.rtok === other && state.rtok !== t0 && canvasSig() !== s0, t0 + '->' + state.rtok);
    probeRo('tokens');
    const r = roGeom.c.getBoundingClientRect(), s1 = canvasSig();
    const rowC = U.col[state.rtok] === 1 && U.C > 2 ? 2 : 1;   // a row other than the selected output
    roGeom.c.dispatchEvent(new MouseEvent('click', { clientX: Math.round(r.left + 60), clientY: Math.round(r.top + rowY(rowC)) }));
    check('rollout-click', state.rtok === U.first[rowC] && canvasSig() !== s1, state.rtok);
    for (const f of RO.fusions.slice(1)) {
      const fs = $('ro-fusion');
      fs.value = f;
      fs.dispatchEvent(new Event('change'));
      probeRo('tokens');
    }
    state.fusion = RO.fusions[0];
    if (RO.flow.tokens.length) {   // a token with flow, whichever it is
      state.rtok = RO.flow.tokens[RO.flow.tokens.length >> 1];
      setView('rollout');
      probeRo('tokens');
    }
    state.rtok = RO.default;
    for (const [mode, hide, words] of [['hide', true, false], ['words+hide', true, true], ['words', false, true]]) {
      state.hide = hide;
      state.words = words;
      buildUnits();
      setView('rollout');
      probeRo(mode);
    }
    state.hide = state.words = false;
    buildUnits();
  } else {
    setView('rollout');
    check('rollout-why', !note.classList.contains('hidden') && note.textContent.indexOf('not in this page') >= 0, note.textContent);
  }
  if (IMG) IMG.selftest(check, probes);
  if (ATT) ATT.selftest(check, probes);
  // the heaviest view, timed
  const t1 = performance.now();
  cache.clear();
  setView('model');
  const modelMs = performance.now() - t1;
  // encoder-decoder pages: the kind selector builds the page of another kind, the alignment tab
  // opens the cross kind's alignment, and the page comes back to this kind
  let rebuilt = false;
  if (KINDS && KINDS.list.length > 1) {
    const other = KINDS.list.find((k) => k !== kind), sel = $('kind');
    sel.value = other;
    sel.dispatchEvent(new Event('change'));
    rebuilt = true;
    const sub2 = document.querySelector('header .sub');
    check('kind-select', $('kind') !== sel && $('kind').value === other && sub2 && sub2.textContent.indexOf(other + ' attention') === 0 &&
          $('stage').childNodes.length > 0, $('kind').value);
    if (hasCross) {
      $('tab-align').click();
      check('align-tab', $('kind').value === 'cross' && !!$('align-canvas'), $('kind').value);
    }
    boot(kind, { view: hash.get('view') || meta.view || 'head', layer: meta.layers[Math.max(0, firstExact)], scale: state.scale,
                 hide: false, words: false, focus: 'mean' });
    check('kind-back', $('kind').value === kind && document.querySelector('header .sub').textContent.indexOf(kind + ' attention') === 0,
          $('kind').value);
  }
  check('no-errors', errors.length === 0, errors.join(' | '));
  const out = { kind, tti_ms: Math.round(ttiMs), model_view_ms: Math.round(modelMs), T, layers: L, heads: Hc, enc: meta.enc,
                exact: exactCount, maps: meta.exact.length, checks, probes, errors,
                passed: checks.filter((c) => c.ok).length, failed: checks.filter((c) => !c.ok).length };
  const pre = el('pre', null, JSON.stringify(out, null, 1));
  pre.id = 'gaze-selftest';
  document.body.appendChild(pre);
  if (!rebuilt) setView(hash.get('view') || meta.view || 'head');
}
if (hash.has('selftest') && !carry) {
  try { selftest(); } catch (e) {
    const pre = el('pre', null, JSON.stringify({ crashed: String(e && e.stack || e), errors }));
    pre.id = 'gaze-selftest';
    document.body.appendChild(pre);
  }
}
}   // boot

boot(KINDS ? (KINDS.list.includes(hash.get('kind')) ? hash.get('kind') : KINDS.initial) : null, null);
})();
