'use strict';
/* camrelay's page: every stream (or one, at /play/<stream>) with its picture
 * over WebRTC (WHEP) when the browser and server have it, else MJPEG; the
 * glass-to-glass meter; live figures with plots; URLs; camera controls.
 * No build step, no framework, nothing fetched from elsewhere. */
const Q = new URLSearchParams(location.search);
let TOKEN = Q.get('token') || sessionStorage.getItem('camrelay-token') || '';
const B = document.body.dataset, ONE = B.stream || '', FORCE = Q.get('output') || '';
const $ = (e, s) => e.querySelector(s);
const hdr = x => Object.assign(TOKEN ? {Authorization: 'Bearer ' + TOKEN} : {}, x || {});
const tok = p => TOKEN ? p + (p.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(TOKEN) : p;
const enc = encodeURIComponent;
const perfNow = () => performance.timeOrigin + performance.now();

async function api(path, opt) {
  const r = await fetch(path, Object.assign({cache: 'no-store'}, opt || {}, {headers: hdr((opt || {}).headers)}));
  if (r.status === 401) askToken();
  if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + (await r.text()).slice(0, 200));
  return r.status === 204 ? null : r.json();
}
function askToken() {
  const f = $(document, '#login');
  f.hidden = false;
  f.onsubmit = e => { e.preventDefault(); TOKEN = $(f, 'input').value.trim();
    sessionStorage.setItem('camrelay-token', TOKEN); location.reload(); };
}

/* ---- the server's clock: NTP-like, over HTTP (tightest of 8 kept) ---- */
const clock = {offset: null, rtt: null};
async function syncClock() {
  let best = null;
  for (let i = 0; i < 8; i++) {
    const t0 = perfNow(), j = await api('/api/time'), t1 = perfNow();
    if (!best || t1 - t0 < best.rtt) best = {rtt: t1 - t0, offset: j.ms - (t0 + t1) / 2};
  }
  clock.offset = best.offset; clock.rtt = best.rtt;
}

/* ---- the timecode block (src/core/timecode.h): 80x45 grid, block 18x9 cells at the
 * top-left, reference row (8 white, 8 black), 96 bits: 48 ms, 16 frame, 32 CRC-32 ---- */
const CELL = 8, TC = document.createElement('canvas');
TC.width = 18 * CELL; TC.height = 9 * CELL;
const TG = TC.getContext('2d', {willReadFrequently: true});
const CRC = new Uint32Array(256).map((_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; return c; });
function crc32(b) { let c = 0xFFFFFFFF; for (const x of b) c = CRC[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xFFFFFFFF) >>> 0; }
/* The bits from cell means (cell(cx, cy): mean luma of the middle half of a cell). */
function decodeCells(cell) {
  const ref = []; let wh = 0, bl = 0;
  for (let i = 0; i < 16; i++) { ref.push(cell(i + 1, 1)); if (i < 8) wh += ref[i] / 8; else bl += ref[i] / 8; }
  if (wh - bl < 48) return null;
  const mid = (wh + bl) / 2;
  for (let i = 0; i < 16; i++) if ((ref[i] > mid) !== (i < 8)) return null;
  const b = new Uint8Array(12);
  for (let i = 0; i < 96; i++) if (cell(1 + i % 16, 2 + (i >> 4)) > mid) b[i >> 3] |= 0x80 >> (i & 7);
  if (crc32(b.subarray(0, 8)) !== ((b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11]) >>> 0)) return null;
  let ms = 0; for (let i = 0; i < 6; i++) ms = ms * 256 + b[i];
  return {ms, frame: b[6] << 8 | b[7]};
}
/* From a picture (<img>, <video>) through a small canvas: the block's corner scaled to 8x8 px a cell. */
function readCode(src, w, h) {
  if (!w || !h || w < 160 || h < 90) return null;
  TG.drawImage(src, 0, 0, 18 * w / 80, 9 * h / 45, 0, 0, TC.width, TC.height);
  const d = TG.getImageData(0, 0, TC.width, TC.height).data;
  return decodeCells((cx, cy) => { let s = 0;
    for (let y = cy * CELL + 2; y < cy * CELL + 6; y++) for (let x = cx * CELL + 2; x < cx * CELL + 6; x++) {
      const i = (y * TC.width + x) * 4; s += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; }
    return s / 16; });
}
/* From a decoded video frame (WebCodecs VideoFrame of the <video>): only the
 * corner's luma is copied, no colour conversion of the whole picture (the
 * canvas path costs a 720p30 WebRTC viewer about a quarter of a core). */
async function readCodeFrame(v) {
  const f = new VideoFrame(v);
  try {
    const w = f.visibleRect.width, h = f.visibleRect.height;
    if (w < 160 || h < 90 || !['I420', 'I420A', 'NV12'].includes(f.format)) return undefined;
    const rect = {x: f.visibleRect.x, y: f.visibleRect.y, width: Math.min(w, (Math.ceil(18 * w / 80) + 1) & ~1),
                  height: Math.min(h, (Math.ceil(9 * h / 45) + 1) & ~1)};
    const buf = new Uint8Array(f.allocationSize({rect}));
    const [Y] = await f.copyTo(buf, {rect});
    return decodeCells((cx, cy) => {
      let x0 = Math.floor(cx * w / 80), x1 = Math.floor((cx + 1) * w / 80), y0 = Math.floor(cy * h / 45), y1 = Math.floor((cy + 1) * h / 45);
      const qx = (x1 - x0) >> 2, qy = (y1 - y0) >> 2; x0 += qx; x1 -= qx; y0 += qy; y1 -= qy;
      if (x1 <= x0) x1 = x0 + 1; if (y1 <= y0) y1 = y0 + 1;
      let s = 0; for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += buf[Y.offset + y * Y.stride + x];
      return s / ((x1 - x0) * (y1 - y0)); });
  } finally { f.close(); }
}

/* ---- the meter of one picture ---- */
function meter(card, el, output) {
  const m = {samples: [], frames: 0, unreadable: 0, last: -1, lastBad: 0, cur: null, output};
  let useFrame = !!window.VideoFrame && el.tagName === 'VIDEO';
  const take = async (t) => {
    const w = el.videoWidth || el.naturalWidth, h = el.videoHeight || el.naturalHeight;
    let c = null;
    if (clock.offset !== null && useFrame) {
      try { c = await readCodeFrame(el); } catch (e) { c = undefined; }
      if (c === undefined) { useFrame = false; c = null; } /* a format it cannot copy: the canvas from now on */
    } else if (clock.offset !== null) c = readCode(el, w, h);
    if (!c) { if (clock.offset !== null && t - m.lastBad > 1000 / (card.fps || 30)) { m.unreadable++; m.lastBad = t; } return; }
    if (c.frame === m.last) return; /* the same frame, shown again */
    m.last = c.frame; m.frames++;
    m.cur = t + clock.offset - c.ms;
    m.samples.push([t, m.cur]);
  };
  m.stop = Q.get('meter') === '0'; /* ?meter=0: no meter (what it costs is in the README) */
  if (m.stop) { /* nothing */ } else if (el.requestVideoFrameCallback) {
    const f = (now, md) => { if (m.stop) return; take(performance.timeOrigin + (md.presentationTime || md.expectedDisplayTime || now)); el.requestVideoFrameCallback(f); };
    el.requestVideoFrameCallback(f);
  } else {
    const f = (now) => { if (m.stop) return; take(performance.timeOrigin + now); requestAnimationFrame(f); };
    requestAnimationFrame(f);
  }
  m.stats = () => {
    const cut = perfNow() - 10000;
    while (m.samples.length && m.samples[0][0] < cut) m.samples.shift();
    const v = m.samples.map(s => s[1]).sort((a, b) => a - b);
    const q = p => v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : null;
    return {cur: v.length ? m.cur : null, p50: q(0.5), p95: q(0.95), n: v.length};
  };
  return m;
}

/* ---- pictures: WebRTC (WHEP) else MJPEG ---- */
async function playRtc(card) {
  const n = card.name, v = document.createElement('video');
  v.autoplay = v.muted = v.playsInline = true;
  const pc = new RTCPeerConnection();
  if (card.el.dataset.dc !== undefined) dataChannel(card, pc);
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.ontrack = e => { v.srcObject = new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch('/whep/' + enc(n), {method: 'POST', headers: hdr({'Content-Type': 'application/sdp'}),
                                           body: pc.localDescription.sdp});
  const t = await r.text();
  if (r.status !== 201) { pc.close(); throw new Error('WHEP ' + r.status + ': ' + t.slice(0, 200)); }
  await pc.setRemoteDescription({type: 'answer', sdp: t});
  const why = r.headers.get('X-DataChannel');
  if (why && why !== 'bridged') { $(card.el, '.dcp').hidden = false; $(card.el, '.dcs').textContent = why; }
  card.session = r.headers.get('Location'); card.viewer = r.headers.get('X-Viewer-Id') || ('rtc-' + rid());
  card.pc = pc;
  pc.onconnectionstatechange = () => { $(card.el, '.out').textContent = 'WebRTC ' + pc.connectionState;
    if (pc.connectionState === 'failed') setTimeout(() => show(card, 'mjpeg'), 1000); };
  return v;
}
/* The stream bridges a data channel to a UDP device ([stream.X.datachannel]):
 * a channel of its label opened before the offer, and the card's message
 * panel (send a line, see what arrives). */
function dataChannel(card, pc) {
  const e = card.el, dc = pc.createDataChannel(e.dataset.dc || 'control'), log = $(e, '.dclog');
  const note = t => { log.textContent = (t + '\n' + log.textContent).slice(0, 20000); };
  dc.binaryType = 'arraybuffer';
  dc.onopen = () => { $(e, '.dcp').hidden = false; $(e, '.dcs').textContent = 'channel open'; };
  dc.onclose = () => { $(e, '.dcs').textContent = 'channel closed'; };
  dc.onmessage = m => note('< ' + (typeof m.data === 'string' ? m.data :
    Array.from(new Uint8Array(m.data)).map(x => x.toString(16).padStart(2, '0')).join(' ')));
  $(e, '.dcp').onsubmit = ev => { ev.preventDefault(); const i = $(e, '.dcm');
    if (dc.readyState === 'open' && i.value) { dc.send(i.value); note('> ' + i.value); i.value = ''; } };
  card.dc = dc;
}
function rid() { return Math.random().toString(36).slice(2, 10); }
function playMjpeg(card) {
  const i = new Image(); i.alt = card.name + ' (MJPEG)';
  i.src = tok('/mjpeg/' + enc(card.name));
  card.viewer = 'mjpeg-' + rid();
  $(card.el, '.out').textContent = 'MJPEG';
  return i;
}
async function show(card, want) {
  if (card.meter) card.meter.stop = true;
  stopRtc(card);
  let el, out = 'mjpeg';
  if (want !== 'mjpeg' && B.webrtc === '1' && window.RTCPeerConnection) {
    try { el = await playRtc(card); out = 'webrtc'; } catch (e) { msg(card, e.message); }
  }
  if (!el) el = playMjpeg(card);
  el.className = 'pic';
  $(card.el, '.pic').replaceWith(el);
  card.output = out;
  card.meter = meter(card, el, out);
}
function stopRtc(card) {
  if (card.session) fetch(card.session, {method: 'DELETE', headers: hdr(), keepalive: true});
  if (card.pc) card.pc.close();
  card.session = card.pc = null;
}
addEventListener('pagehide', () => cards.forEach(stopRtc));
function msg(card, t) { const m = $(card.el, '.msg'); m.textContent = t || ''; m.hidden = !t; }

/* ---- small time plots (the last 5 minutes, one point per 2 s) ---- */
function plot(cv, pts, unit) {
  const g = cv.getContext('2d'), W = cv.width, H = cv.height;
  g.clearRect(0, 0, W, H);
  const v = pts.filter(x => x !== null);
  if (!v.length) return;
  const max = Math.max(...v) * 1.15 || 1;
  g.strokeStyle = '#2a7'; g.lineWidth = 1.5; g.beginPath();
  pts.forEach((p, i) => { if (p === null) return; const x = W - (pts.length - 1 - i) * W / 150, y = H - p / max * H;
    i && pts[i - 1] !== null ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke(); g.fillStyle = '#888'; g.font = '10px sans-serif'; g.fillText(max.toFixed(0) + ' ' + unit, 2, 10);
}
const fmt = (x, d) => x === null || x === undefined ? '–' : x.toFixed(d === undefined ? 0 : d);

/* ---- one stream's card ---- */
const cards = [];
function makeCard(el) {
  const name = el.dataset.n, card = {name, el, hist: {fps: [], kbps: [], g2g: []}, prevBytes: null, prevT: 0};
  const u = (p) => location.origin + tok(p + enc(name));
  const urls = [['WHEP', B.webrtc === '1' && u('/whep/')], ['MJPEG', u('/mjpeg/')], ['snapshot', u('/snapshot/')],
    ['page', u('/play/')], ['RTSP', $(el, 'code.rtsp') && $(el, 'code.rtsp').textContent +
      (TOKEN ? '?token=' + enc(TOKEN) : '')], ['SDP', el.dataset.sdp === '1' && u('/sdp/')]];
  const ul = $(el, '.urls');
  for (const [k, url] of urls) {
    if (!url) continue;
    const row = document.createElement('div'), inp = document.createElement('input'), b = document.createElement('button');
    row.textContent = k + ' '; inp.readOnly = true; inp.value = url; b.textContent = 'copy'; b.type = 'button';
    b.onclick = () => { inp.select(); (navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.reject())
      .catch(() => document.execCommand('copy')); b.textContent = 'copied'; setTimeout(() => b.textContent = 'copy', 1500); };
    row.append(inp, b); ul.append(row);
  }
  $(el, '.sw').onclick = () => show(card, card.output === 'webrtc' ? 'mjpeg' : 'webrtc');
  $(el, 'details').ontoggle = e => { if (e.target.open) controls(card); };
  cards.push(card);
  show(card, FORCE);
  return card;
}

/* ---- figures: /api/streams every 2 s; the meter on screen every 0.5 s ---- */
async function refresh() {
  let j; try { j = await api('/api/streams'); } catch (e) { return; }
  for (const s of j.streams) {
    const card = cards.find(c => c.name === s.name); if (!card) continue;
    const e = card.el, now = perfNow();
    card.fps = s.fps.measured || s.fps.nominal;
    let bytes = 0; for (const v of s.webrtc_viewers || []) bytes += v.bytes_sent || 0;
    const kbps = card.prevBytes === null ? null : Math.max(0, (bytes - card.prevBytes) * 8 / (now - card.prevT));
    card.prevBytes = bytes; card.prevT = now;
    $(e, '.state').textContent = s.state; $(e, '.state').className = 'state ' + (s.state === 'running' ? 'ok' : 'bad');
    msg(card, s.state === 'running' ? '' : s.state + (s.message ? ': ' + s.message : ''));
    $(e, '.fps').textContent = s.fps.measured.toFixed(1) + ' (nominal ' + s.fps.nominal + ')';
    $(e, '.fmt').textContent = s.source.backend + ' ' + s.format + ' ' + s.width + 'x' + s.height;
    $(e, '.kbps').textContent = fmt(kbps) + ' kbit/s WebRTC';
    $(e, '.viewers').textContent = (s.webrtc_viewers || []).length + ' WebRTC, ' +
      s.clients.filter(c => c.name.startsWith('mjpeg')).length + ' MJPEG';
    $(e, '.drops').textContent = s.drops;
    const L = s.latency_ms || {}, st = x => x ? fmt(x.p50, 1) + ' / ' + fmt(x.p99, 1) : '–';
    $(e, '.enc').textContent = st(L.capture_to_encoded); $(e, '.sent').textContent = st(L.capture_to_sent);
    const others = (s.g2g || []).filter(g => g.viewer !== card.viewer && g.p50_ms !== null);
    $(e, '.others').textContent = others.length ? others.map(g => g.output + ' ' + fmt(g.p50_ms)).join(', ') + ' ms' : '–';
    const h = card.hist, m = card.meter ? card.meter.stats() : {};
    for (const [k, v] of [['fps', s.fps.measured], ['kbps', kbps], ['g2g', m.p50]]) { h[k].push(v); if (h[k].length > 150) h[k].shift(); }
    plot($(e, '.pf'), h.fps, 'fps'); plot($(e, '.pk'), h.kbps, 'kbit/s'); plot($(e, '.pg'), h.g2g, 'ms');
  }
}
function showMeter() {
  for (const c of cards) {
    if (!c.meter) continue;
    const m = c.meter.stats(), e = c.el;
    $(e, '.cur').textContent = fmt(m.cur); $(e, '.p50').textContent = fmt(m.p50); $(e, '.p95').textContent = fmt(m.p95);
    $(e, '.unr').textContent = c.meter.unreadable;
    $(e, '.g2g').dataset.p50 = m.p50 === null ? '' : m.p50.toFixed(1);
    $(e, '.sync').textContent = clock.rtt === null ? 'clock not synced' : 'clock ±' + (clock.rtt / 2).toFixed(1) + ' ms';
  }
}
async function report() {
  for (const c of cards) {
    if (!c.meter || !c.viewer) continue;
    const m = c.meter.stats();
    if (!m.n && !c.meter.unreadable) continue;
    const body = {viewer: c.viewer.slice(0, 39), output: c.output, cur: m.cur, p50: m.p50, p95: m.p95,
                  frames: c.meter.frames, unreadable: c.meter.unreadable};
    api('/api/streams/' + enc(c.name) + '/g2g', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                 body: JSON.stringify(body)}).catch(() => {});
  }
}

/* ---- camera controls, built from the stream's list; changes apply at once ---- */
async function controls(card) {
  const box = $(card.el, '.ctls'); box.textContent = 'loading...';
  let j; try { j = await api('/api/streams/' + enc(card.name) + '/controls'); }
  catch (e) { box.textContent = e.message; return; }
  box.textContent = j.controls.length ? '' : 'this source has no controls';
  const set = (name, value, out) => api('/api/streams/' + enc(card.name) + '/controls', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({[name]: value})})
    .then(() => { out.textContent = out.dataset.v || ''; out.className = 'ok'; })
    .catch(e => { out.textContent = e.message; out.className = 'bad'; });
  for (const c of j.controls) {
    const row = document.createElement('label'), out = document.createElement('small');
    row.className = 'ctl'; row.dataset.name = c.name; row.append(c.name + ' ');
    let i;
    if (c.type === 'bool') { i = document.createElement('input'); i.type = 'checkbox'; i.checked = !!c.value;
      i.onchange = () => set(c.name, i.checked ? 1 : 0, out); }
    else if (c.type === 'menu') { i = document.createElement('select');
      for (let v = c.min; v <= c.max && v - c.min < 64; v++) { const o = document.createElement('option'); o.value = v;
        o.textContent = v === c.value && c.text ? c.text : v; i.append(o); }
      i.value = c.value; i.onchange = () => set(c.name, +i.value, out); }
    else if (c.type === 'button') { i = document.createElement('button'); i.type = 'button'; i.textContent = 'do';
      i.onclick = () => set(c.name, 1, out); }
    else if (c.type === 'int') { i = document.createElement('input'); i.type = 'range';
      i.min = c.min; i.max = c.max; i.step = c.step || 1; i.value = c.value; out.dataset.v = out.textContent = c.value;
      i.oninput = () => { out.dataset.v = out.textContent = i.value; };
      i.onchange = () => set(c.name, +i.value, out); }
    else { i = document.createElement('input'); i.value = c.text || c.value; i.onchange = () => set(c.name, i.value, out); }
    row.append(i, ' ', out); box.append(row);
  }
}

document.querySelectorAll('.card').forEach(makeCard);
syncClock().catch(() => {}); setInterval(() => syncClock().catch(() => {}), 30000);
refresh(); setInterval(refresh, 2000); setInterval(showMeter, 500); setInterval(report, 1000);
