
/* ---- attribution tab (gaze view --attrib; scripts/embed-assets appends this file to viewer.js) ---- */

// The token-to-token attributions of render/html_attrib.c (meta.attrib): value-norm and
// residual-norm of one layer (Kobayashi et al. 2020, 2021), ALTI of one layer or rolled out
// (Ferrando et al. 2022), value zeroing likewise (Mohebbi et al. 2023), as gaze explain computes
// them (docs/explain.md). The user picks the method, the layer and the output (target) token: a
// heatmap of the [T, T] matrix (rows: output tokens, columns: input tokens; click a row to make
// it the target) and one bar per input token for the target's row, or the mean over rows (an
// encoder's pooled embedding, gaze explain's default there). Decoders also get the logit lens:
// a layer x top-tokens table. Matrices are f32 in the payload (causal runs: the lower triangle);
// the numbers shown are those values, as `gaze explain METHOD --json` prints them. Tokens reach
// the page only as text nodes and canvas text.
// viewer.js calls gazeAttribTab(api) once for a page with meta.attrib and dispatches to render /
// selftest.
function gazeAttribTab(api) {
  'use strict';
  const meta = api.meta, bytes = api.bytes, el = api.el, state = api.state, A = meta.attrib;
  const T = meta.T, causal = !!A.causal, disp = api.disp, stage = api.stage;
  const methods = A.methods || [];
  const LABELS = {
    'value-norm': 'value-norm \u2016\u03a3\u2095 \u03b1 f(x)\u2016 (one layer)',
    'residual-norm': 'residual-norm (with residual and LayerNorm, one layer)',
    alti: 'ALTI (one layer)',
    'alti-rollout': 'ALTI rolled out over every layer',
    'value-zeroing': 'value zeroing (one layer)',
    'value-zeroing-rollout': 'value zeroing rolled out over every layer',
  };
  const nLayers = methods.reduce((m, x) => Math.max(m, x.layers), 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const st = {
    method: methods.length ? methods[0].name : '',
    layer: nLayers - 1,
    target: causal ? T - 1 : -1,   // -1: the mean over rows
  };
  const mats = new Map();
  function methodOf(name) { return methods.find((m) => m.name === name) || null; }
  function layerOf(m) { return m.layers > 1 ? Math.min(st.layer, m.layers - 1) : 0; }
  // [T, T] of method m at layer l, f64 (zeros above the diagonal of causal runs)
  function matrix(m, l) {
    const key = m.name + ':' + l;
    let M = mats.get(key);
    if (M) return M;
    M = new Float64Array(T * T);
    let p = m.off + 4 * A.cells * l;
    for (let i = 0; i < T; i++) {
      const n = causal ? i + 1 : T;
      for (let j = 0; j < n; j++, p += 4) M[i * T + j] = dv.getFloat32(p, true);
    }
    if (mats.size > 16) mats.clear();
    mats.set(key, M);
    return M;
  }
  // the bars: row `target`, or the mean over every row (gaze explain's matrix_scores)
  function scores(M, target) {
    const s = new Float64Array(T);
    if (target >= 0) { for (let j = 0; j < T; j++) s[j] = M[target * T + j]; return s; }
    for (let j = 0; j < T; j++) {
      let acc = 0;
      for (let i = 0; i < T; i++) acc += M[i * T + j];
      s[j] = acc / T;
    }
    return s;
  }
  function num(v) { return v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(6) : v.toExponential(5); }
  function tokLabel(t) { return '#' + t + ' ' + disp(meta.tokens[t], 24); }

  function controls() {
    const box = el('div', 'steps');
    const msel = el('select');
    msel.id = 'attrib-method';
    for (const m of methods) { const o = el('option', null, LABELS[m.name] || m.name); o.value = m.name; msel.appendChild(o); }
    msel.value = st.method;
    msel.addEventListener('change', () => { st.method = msel.value; render(); });
    const lsel = el('select');
    lsel.id = 'attrib-layer';
    for (let l = 0; l < nLayers; l++) { const o = el('option', null, 'layer ' + l); o.value = String(l); lsel.appendChild(o); }
    lsel.value = String(st.layer);
    const m = methodOf(st.method);
    lsel.disabled = !m || m.layers === 1;
    lsel.addEventListener('change', () => { st.layer = lsel.value | 0; render(); });
    const tsel = el('select');
    tsel.id = 'attrib-target';
    // the mean over rows: an encoder's pooled embedding (gaze explain's default there)
    if (!causal) { const o = el('option', null, 'mean over output tokens (pooled embedding)'); o.value = '-1'; tsel.appendChild(o); }
    for (let t = 0; t < T; t++) { const o = el('option', null, tokLabel(t)); o.value = String(t); tsel.appendChild(o); }
    tsel.value = String(st.target);
    tsel.addEventListener('change', () => { st.target = tsel.value | 0; render(); });
    const l1 = el('label', null, 'Method '), l2 = el('label', null, 'Layer '), l3 = el('label', null, 'Output token ');
    l1.appendChild(msel);
    l2.appendChild(lsel);
    l3.appendChild(tsel);
    box.append(l1, l2, l3);
    return box;
  }

  function heatmap(M) {
    const cell = Math.max(2, Math.min(14, Math.floor(640 / T)));
    const lab = 150, side = cell * T;
    const [c, ctx] = api.newCanvas(lab + side + 4, side + 4);
    c.id = 'attrib-canvas';
    // colour: the current scale over the largest value off the diagonal (the diagonal carries
    // the residual in residual-norm and ALTI and would wash out the rest)
    let top = 0;
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (i !== j && M[i * T + j] > top) top = M[i * T + j];
    if (!(top > 0)) for (let i = 0; i < T * T; i++) top = Math.max(top, M[i]);
    for (let i = 0; i < T; i++) {
      if (cell >= 9) {
        ctx.fillStyle = i === st.target ? '#d55e00' : '#1b1f24';
        ctx.fillText(disp(meta.tokens[i], 18), 2, 2 + i * cell + cell / 2);
      }
      for (let j = 0; j < T; j++) {
        if (causal && j > i) continue;
        const v = M[i * T + j];
        ctx.fillStyle = api.css(api.rgbOf(api.VIRIDIS, top > 0 ? Math.min(1, api.scaleT(Math.max(0, v), top)) : 0));
        ctx.fillRect(lab + j * cell, 2 + i * cell, cell, cell);
      }
    }
    if (st.target >= 0) {
      ctx.strokeStyle = '#d55e00';
      ctx.lineWidth = 2;
      ctx.strokeRect(lab - 1, 1 + st.target * cell, side + 2, cell + 2);
    }
    const at = (ev) => {
      const [x, y] = api.canvasPos(ev, c);
      const i = Math.floor((y - 2) / cell), j = Math.floor((x - lab) / cell);
      return i >= 0 && i < T ? [i, x >= lab && j < T ? j : -1] : [-1, -1];
    };
    c.addEventListener('mousemove', (ev) => {
      const [i, j] = at(ev);
      if (i < 0 || j < 0 || (causal && j > i)) { api.hideTip(); return; }
      api.showTip(ev, 'output ' + tokLabel(i) + '\ninput  ' + tokLabel(j) + '\n' + st.method + ' ' + num(M[i * T + j]));
    });
    c.addEventListener('mouseleave', api.hideTip);
    c.addEventListener('click', (ev) => { const [i] = at(ev); if (i >= 0) { st.target = i; render(); } });
    return c;
  }

  function bars(s) {
    const list = el('ol', 'list');
    list.id = 'attrib-bars';
    let top = 0;
    for (let j = 0; j < T; j++) top = Math.max(top, Math.abs(s[j]));
    for (let j = 0; j < T; j++) {
      const li = el('li');
      li.style.display = 'flex';
      li.style.gap = '8px';
      const name = el('span', null, tokLabel(j));
      name.style.width = '200px';
      name.style.whiteSpace = 'pre';
      name.style.overflow = 'hidden';
      const bar = el('span');
      bar.style.display = 'inline-block';
      bar.style.height = '10px';
      bar.style.alignSelf = 'center';
      bar.style.width = (top > 0 ? Math.round(300 * Math.abs(s[j]) / top) : 0) + 'px';
      bar.style.background = s[j] < 0 ? '#d55e00' : '#0072b2';
      const box = el('span');
      box.style.width = '304px';
      box.appendChild(bar);
      const val = el('span', 'v', num(s[j]));
      val.dataset.j = String(j);
      li.append(name, box, val);
      list.appendChild(li);
    }
    return list;
  }

  function lensTable() {
    const ln = A.lens;
    const wrap = el('div');
    wrap.appendChild(el('h3', null, 'Logit lens: the last token\'s residual stream after each layer, through the final norm and ' +
                        'unembedding; p = the probability of the final prediction "' + disp(ln.final_text) + '"'));
    const tbl = el('table', 'list');
    tbl.id = 'attrib-lens';
    const head = el('tr');
    head.appendChild(el('th', null, 'layer'));
    head.appendChild(el('th', null, 'p(final)'));
    for (let r = 0; r < ln.k; r++) head.appendChild(el('th', null, 'top ' + (r + 1)));
    tbl.appendChild(head);
    ln.layers.forEach((e, l) => {
      const tr = el('tr');
      tr.appendChild(el('td', null, String(l)));
      const pf = el('td', 'v', e.p_final.toFixed(4));
      pf.style.background = api.css(api.rgbOf(api.VIRIDIS, Math.min(1, Math.max(0, e.p_final))));
      pf.style.color = e.p_final > 0.6 ? '#000' : '#fff';
      tr.appendChild(pf);
      for (const t of e.top) tr.appendChild(el('td', t.id === ln.final_token ? 'v fin' : 'v', disp(t.text, 16) + ' ' + t.p.toFixed(3)));
      tbl.appendChild(tr);
    });
    wrap.appendChild(tbl);
    return wrap;
  }

  function render() {
    stage.textContent = '';
    api.hideTip();
    if (!methods.length) {
      api.setNote('Attributions are not in this page' + (A.why ? ': ' + A.why : ' (gaze view MODEL "text" --attrib adds them)') + '.');
      if (A.lens) stage.appendChild(lensTable());
      return;
    }
    if (A.why) api.setNote(A.why + '.');
    let m = methodOf(st.method);
    if (!m) { m = methods[0]; st.method = m.name; }
    stage.appendChild(controls());
    const l = layerOf(m), M = matrix(m, l);
    const what = (LABELS[m.name] || m.name) + (m.layers > 1 ? ', layer ' + l : '');
    const cap = el('div', 'sub', what + ': how much each input token (column) contributes to each output token (row); ' +
                   'bars: ' + (st.target >= 0 ? 'output ' + tokLabel(st.target) : 'the mean over every output token') +
                   ' (gaze explain ' + m.name.replace('-rollout', '') + (m.layers > 1 ? ' --layer ' + l : '') +
                   (st.target >= 0 ? ' --token ' + st.target : '') + '). Colour: ' + state.scale + ', scaled to the largest ' +
                   'value off the diagonal. Click a row to make it the output token. Occlusion and knockout need one ' +
                   'forward pass per token: gaze explain.');
    cap.id = 'attrib-caption';
    stage.appendChild(cap);
    const row = el('div');
    row.style.display = 'flex';
    row.style.gap = '24px';
    row.style.alignItems = 'flex-start';
    row.append(heatmap(M), bars(scores(M, st.target)));
    stage.appendChild(row);
    if (A.lens) stage.appendChild(lensTable());
  }

  // #selftest: every method, two layers and two targets; what the bars showed goes into the
  // probes (tests/e2e/view_attrib_check.py compares them with gaze explain --json)
  function selftest(check, probes) {
    api.setView('attrib');
    check('attrib-tab', !!document.getElementById('attrib-method') || !methods.length, A.why || '');
    if (!methods.length) return;
    const shown = () => Array.from(document.querySelectorAll('#attrib-bars .v')).map((e) => e.textContent);
    const pick = (id, v) => { const s = document.getElementById(id); s.value = String(v); s.dispatchEvent(new Event('change')); };
    const sigs = new Set(), pics = new Set();
    const pic = () => {   // a fingerprint of the heatmap's pixels
      const c = document.getElementById('attrib-canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261 >>> 0;
      for (let i = 0; i < d.length; i += 7) h = Math.imul(h ^ d[i], 16777619) >>> 0;
      return h;
    };
    const targets = [causal ? T - 1 : -1, Math.min(T - 1, 2)];
    for (const m of methods) {
      pick('attrib-method', m.name);
      const layers = m.layers > 1 ? [0, m.layers - 1] : [0];
      for (const l of layers) {
        if (m.layers > 1) pick('attrib-layer', l);
        for (const t of targets) {
          pick('attrib-target', t);
          const v = shown();
          sigs.add(v.join(','));
          pics.add(pic() + ':' + m.name + ':' + l);
          probes.push({ attrib: m.name, layer: m.layers > 1 ? l : null, token: t, values: v });
        }
      }
    }
    check('attrib-bars', shown().length === T, shown().length);
    const n = probes.filter((p) => p.attrib).length;
    check('attrib-switch', sigs.size === n, sigs.size + ' of ' + n);
    // every method and layer draws its own heatmap (the same one for both targets but the marked row)
    check('attrib-heatmaps', pics.size === n, pics.size + ' of ' + n);
    // a click on a row of the heatmap makes it the target
    const c = document.getElementById('attrib-canvas'), r = c.getBoundingClientRect();
    const cell = Math.max(2, Math.min(14, Math.floor(640 / T)));
    c.dispatchEvent(new MouseEvent('click', { clientX: Math.round(r.left + 150 + cell / 2), clientY: Math.round(r.top + 2 + cell * 1.5), bubbles: true }));
    check('attrib-click-row', document.getElementById('attrib-target').value === '1', document.getElementById('attrib-target').value);
    if (A.lens) {
      const rows = Array.from(document.querySelectorAll('#attrib-lens tr')).slice(1);
      probes.push({ lens: rows.map((tr) => Array.from(tr.children).map((td) => td.textContent)) });
      check('attrib-lens', rows.length === A.lens.layers.length, rows.length);
    }
    st.target = causal ? T - 1 : -1;
  }
  return { render, selftest };
}
