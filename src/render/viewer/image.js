
/* ---- image tab (image runs; scripts/embed-assets appends this file to viewer.js) ----------- */

// The image the model saw (meta.image: [h, w, 3] RGB bytes in the payload, each token's grid
// cell) with its patch grid. Hovering a patch overlays that patch's attention over the image for
// the selected layer (one head, or the mean / max of the selected heads); below, the layer x head
// grid of thumbnails, each the attention of one query ([CLS] by default, as the DINO paper's
// figure) over the image. Values are the stored weights (f16 or u8 codes) as every other view
// shows them; colours are scaled to each map's maximum. Drawn on canvases only: no markup.
// viewer.js calls gazeImageTab(api) once for an image run and dispatches to render / selftest.
function gazeImageTab(api) {
  'use strict';
  const meta = api.meta, bytes = api.bytes, el = api.el, state = api.state;
  const T = meta.T, Hc = meta.heads.length, L = meta.layers.length;
  const im = meta.image, rows = im.rows, cols = im.cols, W = im.w, H = im.h;
  const cellTok = new Int32Array(rows * cols).fill(-1);   // token of each grid cell
  const others = [];                                     // [CLS], [DIST], registers
  for (let t = 0; t < T; t++) {
    const r = im.rc[2 * t], c = im.rc[2 * t + 1];
    if (r >= 0 && c >= 0) cellTok[r * cols + c] = t;
    else others.push(t);
  }
  const patchTok = Array.from(cellTok).filter((t) => t >= 0);
  const captured = (t) => t >= 0 && api.rowOfToken[t] >= 0;
  // the image as a canvas of its own pixels, scaled when drawn
  const base = el('canvas');
  base.width = W;
  base.height = H;
  {
    const ctx = base.getContext('2d'), id = ctx.createImageData(W, H), px = id.data;
    for (let i = 0, n = W * H; i < n; i++) {
      px[4 * i] = bytes[im.off + 3 * i];
      px[4 * i + 1] = bytes[im.off + 3 * i + 1];
      px[4 * i + 2] = bytes[im.off + 3 * i + 2];
      px[4 * i + 3] = 255;
    }
    ctx.putImageData(id, 0, 0);
  }
  // thumbnails' query: the first non-patch token with a captured row, else the mean over patches
  let thumbQ = -1;
  for (const t of others) if (captured(t)) { thumbQ = t; break; }
  let query = thumbQ >= 0 ? thumbQ : (patchTok.find(captured) ?? -1);   // the main image's query
  let geom = null;                                                      // the last render's

  const cellName = (t) => {
    const r = im.rc[2 * t], c = im.rc[2 * t + 1];
    return r >= 0 ? 'patch (' + r + ',' + c + ') #' + t : api.disp(meta.tokens[t]) + ' #' + t;
  };
  const queryName = (t) => t >= 0 ? cellName(t) : 'mean over the ' + patchTok.length + ' patch queries';
  const headsName = (hs, how) => hs.length === 1 ? api.headName(hs[0]) : how + ' of ' + hs.length + ' heads';

  // Attention of query t (or, t = -1, the mean over captured patch rows) over every token, as
  // the mean or max over heads hs of layer li; null when a map is not exact or the row missing.
  function rowOf(li, hs, t, how) {
    if (!hs.length) return null;
    const qs = t >= 0 ? [t] : patchTok.filter(captured);
    if (!qs.length || !qs.every(captured)) return null;
    const out = new Float32Array(T);
    for (const h of hs) {
      const m = api.rawMap(li, h);
      if (!m) return null;
      const acc = new Float32Array(T);
      for (const q of qs) {
        const base0 = api.rowOfToken[q] * T;
        for (let j = 0; j < T; j++) acc[j] += m[base0 + j] / qs.length;
      }
      if (how === 'max') { for (let j = 0; j < T; j++) if (acc[j] > out[j]) out[j] = acc[j]; }
      else for (let j = 0; j < T; j++) out[j] += acc[j] / hs.length;
    }
    return out;
  }
  function cellValues(row) {   // [rows * cols]: the weight on each cell's token
    const v = new Float32Array(rows * cols);
    for (let k = 0; k < v.length; k++) v[k] = cellTok[k] >= 0 ? row[cellTok[k]] : 0;
    return v;
  }
  // the image at (x, y, w, h) with vals over its cells (null: the image alone), and the grid
  function drawOver(ctx, x, y, w, h, vals, grid) {
    ctx.imageSmoothingEnabled = w < 3 * W;
    ctx.globalAlpha = 1;
    ctx.drawImage(base, x, y, w, h);
    if (vals) {
      let top = 0;
      for (let k = 0; k < vals.length; k++) if (vals[k] > top) top = vals[k];
      ctx.globalAlpha = 0.62;
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const x0 = x + Math.round(c * w / cols), x1 = x + Math.round((c + 1) * w / cols);
          const y0 = y + Math.round(r * h / rows), y1 = y + Math.round((r + 1) * h / rows);
          ctx.fillStyle = api.css(api.rgbOf(api.VIRIDIS, top > 0 ? api.scaleT(vals[r * cols + c], top) : 0));
          ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        }
      ctx.globalAlpha = 1;
    }
    if (grid) {
      ctx.strokeStyle = 'rgba(255,255,255,0.45)';
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let c = 1; c < cols; c++) { const xx = x + Math.round(c * w / cols) + 0.5; ctx.moveTo(xx, y); ctx.lineTo(xx, y + h); }
      for (let r = 1; r < rows; r++) { const yy = y + Math.round(r * h / rows) + 0.5; ctx.moveTo(x, yy); ctx.lineTo(x + w, yy); }
      ctx.stroke();
    }
  }
  const numFmt = (v) => api.fmt(v, meta.enc === 'f16');
  function topCells(vals, n) {
    const ks = [];
    for (let k = 0; k < vals.length; k++) if (cellTok[k] >= 0) ks.push(k);
    ks.sort((a, b) => vals[b] - vals[a]);
    return ks.slice(0, n);
  }

  function render() {
    const li = state.layer, hs = api.focusHeads(), how = state.focus === 'max' ? 'max' : 'mean';
    const wrap = el('div');
    const bar = el('div', 'controls');
    bar.style.padding = '0 0 8px';
    bar.style.border = 'none';
    const qSel = el('select');
    qSel.id = 'img-thumbq';
    for (const t of others) if (captured(t)) { const o = el('option', null, api.disp(meta.tokens[t]) + ' #' + t); o.value = String(t); qSel.appendChild(o); }
    { const o = el('option', null, 'mean over patch queries'); o.value = '-1'; qSel.appendChild(o); }
    qSel.value = String(thumbQ);
    qSel.addEventListener('change', () => { thumbQ = qSel.value | 0; query = thumbQ >= 0 ? thumbQ : query; api.rerender(); });
    const qLab = el('label', null, 'Thumbnails and image show ');
    qLab.appendChild(qSel);
    bar.appendChild(qLab);
    bar.appendChild(el('span', 'sub', im.rows + ' \u00d7 ' + im.cols + ' patches of ' + im.patch + ' px; hover a patch for its attention'));
    wrap.appendChild(bar);
    if (!api.hasExact(li, 0)) {
      api.setNote(api.layerName(li) + ' was kept as block means only (size cap): the image tab needs exact rows; pick another layer.');
    }
    // the main image
    const S = 384, sc = S / Math.max(W, H), w = Math.round(W * sc), h = Math.round(H * sc);
    const [c, ctx] = api.newCanvas(w, h);
    c.id = 'img-main';
    const info = el('pre', 'list');
    info.id = 'img-info';
    info.style.margin = '0 0 0 14px';
    let vals = null;
    function draw() {
      const row = rowOf(li, hs, query, how);
      vals = row ? cellValues(row) : null;
      ctx.clearRect(0, 0, w, h);
      drawOver(ctx, 0, 0, w, h, vals, true);
      const r = query >= 0 ? im.rc[2 * query] : -1, cc = query >= 0 ? im.rc[2 * query + 1] : -1;
      if (r >= 0) {
        ctx.strokeStyle = '#d55e00';
        ctx.lineWidth = 2;
        const x0 = Math.round(cc * w / cols), x1 = Math.round((cc + 1) * w / cols);
        const y0 = Math.round(r * h / rows), y1 = Math.round((r + 1) * h / rows);
        ctx.strokeRect(x0 + 1, y0 + 1, x1 - x0 - 2, y1 - y0 - 2);
      }
      const lines = ['query ' + queryName(query), api.layerName(li) + ', ' + (hs.length ? headsName(hs, how) : 'no head selected')];
      if (row) {
        lines.push('strongest patches:');
        for (const k of topCells(vals, 5)) lines.push('  ' + cellName(cellTok[k]) + '  ' + numFmt(vals[k]));
        for (const t of others) lines.push('  ' + api.disp(meta.tokens[t]) + ' #' + t + '  ' + numFmt(row[t]));
      } else lines.push(hs.length ? 'no exact attention for this query in this layer' : '');
      info.textContent = lines.join('\n');
    }
    draw();
    const cellAt = (ev) => {
      const [x, y] = api.canvasPos(ev, c);
      const cc = Math.floor(x * cols / w), r = Math.floor(y * rows / h);
      return cc >= 0 && cc < cols && r >= 0 && r < rows ? r * cols + cc : -1;
    };
    c.addEventListener('mousemove', (ev) => {
      const k = cellAt(ev), t = k >= 0 ? cellTok[k] : -1;
      if (t < 0) { api.hideTip(); return; }
      if (captured(t) && t !== query) { query = t; draw(); }
      const row = rowOf(li, hs, t, how);
      if (!row) { api.showTip(ev, cellName(t) + '\nits attention row is not in this page'); return; }
      const v = cellValues(row), best = topCells(v, 1)[0];
      api.showTip(ev, cellName(t) + '\n' + api.layerName(li) + ', ' + headsName(hs, how) + '\nself ' + numFmt(row[t]) +
                  ', strongest ' + cellName(cellTok[best]) + ' ' + numFmt(v[best]));
    });
    c.addEventListener('mouseleave', () => api.hideTip());
    const top = el('div');
    top.style.display = 'flex';
    top.style.alignItems = 'flex-start';
    top.append(c, info);
    wrap.appendChild(top);
    // the layer x head grid of thumbnails
    wrap.appendChild(el('p', 'sub', 'Attention of ' + queryName(thumbQ) + ' over the image, each layer (rows) and head (columns); click one to show it above.'));
    const tw = Math.max(36, Math.min(96, Math.floor(1000 / Math.max(1, Hc)) - 4)), th = Math.max(12, Math.round(tw * H / W));
    const gap = 4, left = 64, top0 = 18;
    const [g, gctx] = api.newCanvas(left + Hc * (tw + gap), top0 + L * (th + gap));
    g.id = 'img-thumbs';
    gctx.fillStyle = '#5b6470';
    gctx.textAlign = 'center';
    for (let hi = 0; hi < Hc; hi++) gctx.fillText('h' + meta.heads[hi], left + hi * (tw + gap) + tw / 2, 9);
    const thumbVals = [];
    for (let l = 0; l < L; l++) {
      gctx.fillStyle = '#5b6470';
      gctx.textAlign = 'right';
      gctx.fillText(api.layerName(l), left - 6, top0 + l * (th + gap) + th / 2);
      for (let hi = 0; hi < Hc; hi++) {
        const x = left + hi * (tw + gap), y = top0 + l * (th + gap);
        const row = rowOf(l, [hi], thumbQ, 'mean');
        const v = row ? cellValues(row) : null;
        thumbVals.push(v);
        if (v) drawOver(gctx, x, y, tw, th, v, false);
        else { gctx.fillStyle = '#d8dde3'; gctx.fillRect(x, y, tw, th); }
        if (l === li && hs.length === 1 && hs[0] === hi) { gctx.strokeStyle = '#d55e00'; gctx.lineWidth = 2; gctx.strokeRect(x - 1, y - 1, tw + 2, th + 2); }
      }
    }
    const thumbAt = (ev) => {
      const [x, y] = api.canvasPos(ev, g);
      const hi = Math.floor((x - left) / (tw + gap)), l = Math.floor((y - top0) / (th + gap));
      return x >= left && y >= top0 && hi < Hc && l < L ? [l, hi] : null;
    };
    g.addEventListener('mousemove', (ev) => {
      const p = thumbAt(ev);
      if (!p) { api.hideTip(); return; }
      const v = thumbVals[p[0] * Hc + p[1]];
      if (!v) { api.showTip(ev, api.layerName(p[0]) + ', ' + api.headName(p[1]) + '\nnot exact in this page'); return; }
      const best = topCells(v, 1)[0];
      api.showTip(ev, api.layerName(p[0]) + ', ' + api.headName(p[1]) + '\n' + queryName(thumbQ) + ' \u2192 strongest ' +
                  cellName(cellTok[best]) + ' ' + numFmt(v[best]));
    });
    g.addEventListener('mouseleave', () => api.hideTip());
    g.addEventListener('click', (ev) => {
      const p = thumbAt(ev);
      if (!p) return;
      state.layer = p[0];
      state.focus = String(p[1]);
      if (thumbQ >= 0) query = thumbQ;
      api.rerender();
    });
    wrap.appendChild(g);
    api.stage.appendChild(wrap);
    geom = { c, w, h, g, tw, th, gap, left, top0, thumbVals, vals: () => vals, draw };
  }

  // Self-test: hovering patches changes the overlay and records its values (tests/e2e/view_check.py
  // recomputes them from the run file); the thumbnails and a click on one.
  function selftest(check, probes) {
    state.layer = Math.max(0, meta.exact.findIndex((x) => x) / Hc | 0);
    state.focus = 'mean';
    for (let h = 0; h < Hc; h++) state.sel.add(h);
    api.setView('image');
    check('image-tab', state.view === 'image' && geom && document.getElementById('img-main') &&
          !api.tabs.image.classList.contains('hidden'), state.view);
    if (!geom) return;
    {   // the image bytes reached the canvas unchanged
      const d = base.getContext('2d').getImageData(0, 0, W, H).data;
      let bad = 0;
      for (let i = 0; i < W * H; i += 7) for (let ch = 0; ch < 3; ch++) if (d[4 * i + ch] !== bytes[im.off + 3 * i + ch]) bad++;
      check('image-pixels', bad === 0, bad + ' differ');
    }
    const hoverCell = (r, c) => api.hover(geom.c, (c + 0.5) * geom.w / cols, (r + 0.5) * geom.h / rows);
    const layer = meta.layers[state.layer];
    const record = (mode, t, hs, how, vals, text) => probes.push({ view: 'image', mode, layer, query: t,
      heads: hs.map((h) => meta.heads[h]), how, values: Array.from(vals), text });
    // two patches, mean of all heads: the overlay changes with the hovered patch
    const cells = [[rows >> 1, cols >> 1], [0, cols - 1]];
    let s0 = api.canvasSig(), n = 0;
    for (const [r, c] of cells) {
      const t = cellTok[r * cols + c];
      if (!captured(t)) continue;
      const text = hoverCell(r, c);
      const s1 = api.canvasSig();
      check('image-hover-' + n, query === t && s1 !== s0 && text.indexOf('patch (' + r + ',' + c + ')') === 0 && geom.vals(),
            text.split('\n')[0]);
      s0 = s1;
      if (geom.vals()) record('patch', t, api.focusHeads(), 'mean', geom.vals(), text);
      n++;
    }
    // one head, then the max over heads
    if (Hc > 1) {
      state.focus = String(Hc - 1);
      api.rerender();
      const [r, c] = cells[0], t = cellTok[r * cols + c];
      const text = hoverCell(r, c);
      if (geom.vals()) record('patch', t, [Hc - 1], 'mean', geom.vals(), text);
      state.focus = 'max';
      api.rerender();
      hoverCell(r, c);
      if (geom.vals()) record('patch', t, api.focusHeads(), 'max', geom.vals(), text);
      state.focus = 'mean';
      api.rerender();
    }
    // thumbnails: one per (layer, head), values of the thumbnail query
    check('image-thumbs', geom.thumbVals.length === L * Hc, geom.thumbVals.length);
    const li = L - 1, hi = Hc - 1, v = geom.thumbVals[li * Hc + hi];
    if (v) probes.push({ view: 'image', mode: 'thumb', layer: meta.layers[li], query: thumbQ, heads: [meta.heads[hi]], how: 'mean',
                         values: Array.from(v), text: '' });
    const rect = geom.g.getBoundingClientRect();
    const x = geom.left + hi * (geom.tw + geom.gap) + geom.tw / 2, y = geom.top0 + li * (geom.th + geom.gap) + geom.th / 2;
    geom.g.dispatchEvent(new MouseEvent('click', { clientX: Math.round(rect.left + x), clientY: Math.round(rect.top + y) }));
    check('image-thumb-click', state.view === 'image' && state.layer === li && state.focus === String(hi), state.layer + '/' + state.focus);
    state.focus = 'mean';
  }
  return { render, selftest };
}
