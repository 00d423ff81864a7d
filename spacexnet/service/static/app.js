// Space-XNet live view: the constellation, the placement and the token latency as they move.
//
// Everything comes from the service this page is served by (same origin, no CDN):
// - positions and links: GET /scenarios/{id}/czml over a window of time (sampled Earth-fixed positions,
//   interpolated here with the Lagrange degree the document names; links as intervals of "up"), fetched
//   and parsed once per window by a worker (czml-worker.js), never per frame;
// - placement (gate ring, experts) and latency: GET .../placement and .../latency at the clock's time
//   rounded down to the minute, one request in flight, the newest time wins;
// - compare table: GET .../compare; sweep: POST .../sweeps, then its events (GET /jobs/{id}/events, read with
//   fetch so that the API key goes along) and file. The chart of each policy's expected and p99 token latency
//   over time and its handover marks are drawn from that job's "step" and "handover" events: the sweep's own
//   per-step results, the numbers its NetCDF file holds.
// The test hooks live on window.__spacexnet (read-only by convention).

import { geoNaturalEarth1, geoOrthographic, geoPath, geoGraticule10 } from "d3-geo";
import uPlot from "uplot";

const topojson = window.topojson;

/** Seconds of simulated time one CZML window covers, and its sample spacing. */
const WINDOW_S = 1200;
const STEP_S = 60;
/** Latency, placement and compare are asked at the clock's time rounded down to this, s. */
const QUERY_STEP_S = 60;
/** Span of a sweep started from the page, s (at STEP_S steps, every policy). */
const SWEEP_DURATION_S = 600;
const WGS84_A_M = 6378137.0;
const WGS84_F = 1 / 298.257223563;
const DEG = 180 / Math.PI;
const FRAME_HISTORY = 600;
const POLICY_COLOURS = ["#9aa0a6", "#4e9be8", "#e8554e", "#8bd16a", "#c98be8"];
/** Height of one policy's row of handover marks at the foot of the chart, CSS px. */
const MARK_ROW_PX = 13;
// Low to high activation probability (viridis stops).
const PROBABILITY_STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

const $ = (id) => document.getElementById(id);

const hooks = {
  ready: false, scenario: null, satellites: 0, drawn: 0, clockMs: 0, clockIso: "", playing: false, speed: 60,
  globe: false, latency: null, placementTime: null, frameMs: [], errors: [], firstSatXY: null, windowsLoaded: 0,
  route: null, routeQuery: null, steps: [], handovers: [], handoverShown: null,
  /** The chart's series labels and data (x: time s, then each policy's expected and p99). */
  chart: () => (state.chart ? { labels: state.chart.series.slice(1).map((s) => s.label), data: state.chart.data } : null),
  /** The route end a click at CSS pixel (x, y) of the map gives when no satellite is there: "LAT,LON". */
  groundAt: (x, y) => groundAt(x, y)?.query ?? null,
  /** Every satellite drawn in the last frame, as [x, y] (CSS pixels in the map). */
  drawnXY: () => {
    const out = [];
    const win = lastFrame.win;
    for (let s = 0; win && s < win.count; s++) if (buffers.seen[s]) out.push([buffers.x[s], buffers.y[s]]);
    return out;
  },
  /** Where satellite ``norad`` was drawn in the last frame (CSS pixels in the map), or null. */
  satelliteXY: (norad) => {
    const s = lastFrame.win && lastFrame.win.index.get(`sat-${norad}`);
    return s !== undefined && s !== null && buffers.seen[s] ? [buffers.x[s], buffers.y[s]] : null;
  },
};
const lastFrame = { win: null };
window.__spacexnet = hooks;

const state = {
  presets: null, summary: null, scenario: null,
  clockMs: 0, playing: false, speed: 60, follow: false, globe: false, layer: 0,
  windows: new Map(),          // start ms -> {promise, data}
  placement: null, latency: null,
  query: { inFlight: false, lastMs: null },
  series: new Map(),           // time s -> {policy: {expected, p99}} from the sweep's step events
  handovers: [],               // the sweep's handover events, in order
  chart: null, land: null, rotate: [-10, -20],
  lastWall: null, baseDirty: true,
  route: { picking: false, from: null, to: null, answer: null },
};

// ------------------------------------------------------------------ requests

class ApiError extends Error {
  constructor(status, detail, path) {
    super(detail);
    this.status = status;
    this.path = path;
  }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = sessionStorage.getItem("spacexnet-api-key");
  if (key) headers.set("X-API-Key", key);
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText} (${path})`;
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") detail = body.detail;
    } catch (_) { /* not a problem body: keep the status line */ }
    if (response.status === 401 || response.status === 403) $("api-key-box").hidden = false;
    throw new ApiError(response.status, detail, path);
  }
  return response;
}

const json = async (path, options) => (await api(path, options)).json();

/** Click handler of a download link: with an API key stored, the file is fetched with the key, then saved. */
async function keyedDownload(event) {
  if (!sessionStorage.getItem("spacexnet-api-key")) return;  // no key: the plain link works
  event.preventDefault();
  const link = event.currentTarget;
  try {
    const blob = await (await api(link.getAttribute("href"))).blob();
    const saved = document.createElement("a");
    saved.href = URL.createObjectURL(blob);
    saved.download = link.download || "";
    saved.click();
    setTimeout(() => URL.revokeObjectURL(saved.href), 60_000);
  } catch (err) {
    showError(err.message);
  }
}

function showError(detail) {
  const box = $("error");
  box.textContent = String(detail).split("\n")[0];
  box.hidden = false;
  hooks.errors.push(box.textContent);
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
const floorTo = (ms, step_s) => Math.floor(ms / (step_s * 1000)) * step_s * 1000;
const scenarioPath = (suffix) => `/scenarios/${encodeURIComponent(state.scenario)}${suffix}`;

// ------------------------------------------------------------------ trajectories (CZML windows)

// The CZML windows are fetched and parsed in a worker (czml-worker.js): the JSON of thousands of satellites'
// samples takes longer than a frame to parse, and the clock would stutter each time a window arrives.
const czmlWorker = new Worker("/static/czml-worker.js");
const czmlWaiting = new Map();  // request id -> {resolve, reject}
let czmlRequests = 0;
czmlWorker.onmessage = (event) => {
  const { id, win, error, status } = event.data;
  const waiting = czmlWaiting.get(id);
  czmlWaiting.delete(id);
  if (!waiting) return;
  if (error !== undefined) {
    if (status === 401 || status === 403) $("api-key-box").hidden = false;
    waiting.reject(new ApiError(status, error, ""));
    return;
  }
  // The index by packet id ("sat-NORAD") is made here: a Map does not cross to the page for free.
  win.index = new Map();
  win.norad.forEach((norad, s) => win.index.set(`sat-${norad}`, s));
  waiting.resolve(win);
};

/** The positions and links of the window starting at ``startMs``, fetched and parsed by the worker. */
function loadWindow(path, startMs) {
  const id = ++czmlRequests;
  return new Promise((resolve, reject) => {
    czmlWaiting.set(id, { resolve, reject });
    czmlWorker.postMessage({ id, url: path, key: sessionStorage.getItem("spacexnet-api-key"), startMs,
                             windowS: WINDOW_S, stepS: STEP_S });
  });
}

function windowFor(ms) {
  const startMs = floorTo(ms, STEP_S);
  let entry = state.windows.get(startMs);
  if (entry) return entry;
  // One window in flight at a time: asking again every frame while it loads would only pile requests up.
  for (const other of state.windows.values()) if (!other.data && !other.failed) return other;
  const scenario = state.scenario;
  entry = { data: null, failed: false, startMs };
  entry.promise = loadWindow(scenarioPath(`/czml?start=${iso(startMs)}&duration_s=${WINDOW_S}&step_s=${STEP_S}&strategy=`),
                             startMs)
    .then((win) => {
      if (scenario !== state.scenario) return;
      entry.data = win;
      hooks.windowsLoaded += 1;
    })
    .catch((err) => { entry.failed = true; showError(err.message); });
  state.windows.set(startMs, entry);
  // Keep the memory bounded: the newest windows only.
  const loaded = [...state.windows.values()].filter((e) => e.data).sort((x, y) => x.startMs - y.startMs);
  while (loaded.length > 2) state.windows.delete(loaded.shift().startMs);
  return entry;
}

/** The loaded window that covers ``ms`` (fetching the next one ahead), or null while none does. */
function currentWindow(ms) {
  for (const entry of state.windows.values()) {
    const d = entry.data;
    if (d && ms >= d.startMs && ms <= d.startMs + WINDOW_S * 1000) {
      if (ms > d.startMs + WINDOW_S * 500) windowFor(d.startMs + (WINDOW_S - 2 * STEP_S) * 1000);
      return d;
    }
  }
  windowFor(ms);
  return null;
}

function lagrangeWeights(u, n, degree) {
  // u: fractional sample index. The degree + 1 nodes around it, as CesiumJS picks them.
  const i = Math.floor(u);
  const first = Math.min(Math.max(i - Math.floor(degree / 2), 0), n - degree - 1);
  const w = new Float64Array(degree + 1);
  for (let j = 0; j <= degree; j++) {
    let num = 1, den = 1;
    for (let m = 0; m <= degree; m++) {
      if (m === j) continue;
      num *= u - (first + m);
      den *= j - m;
    }
    w[j] = num / den;
  }
  return { first, w };
}

/** Geodetic longitude and latitude (degrees) of Earth-fixed positions at ``ms`` (Bowring's formula). */
function geodetic(win, ms, lon, lat) {
  const u = (ms - win.startMs) / (STEP_S * 1000);
  const { first, w } = lagrangeWeights(u, win.n, win.degree);
  const b = WGS84_A_M * (1 - WGS84_F), e2 = WGS84_F * (2 - WGS84_F), ep2 = e2 / (1 - e2);
  for (let s = 0; s < win.count; s++) {
    let x = 0, y = 0, z = 0;
    for (let j = 0; j < w.length; j++) {
      const o = (s * win.n + first + j) * 3;
      x += w[j] * win.pos[o]; y += w[j] * win.pos[o + 1]; z += w[j] * win.pos[o + 2];
    }
    const p = Math.hypot(x, y);
    const t = Math.atan2(z * WGS84_A_M, p * b);
    const st = Math.sin(t), ct = Math.cos(t);
    lon[s] = Math.atan2(y, x) * DEG;
    lat[s] = Math.atan2(z + ep2 * b * st * st * st, p - e2 * WGS84_A_M * ct * ct * ct) * DEG;
  }
}

// ------------------------------------------------------------------ drawing

const base = $("base"), marks = $("marks");
let projection = null, width = 0, height = 0, dpr = 1;

function resize() {
  const box = $("map").getBoundingClientRect();
  dpr = window.devicePixelRatio || 1;
  width = Math.max(320, Math.floor(box.width));
  height = Math.round(width * (state.globe ? 0.62 : 0.52));
  for (const canvas of [base, marks]) {
    canvas.width = width * dpr;
    canvas.height = height * dpr;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  $("map").style.height = `${height}px`;
  makeProjection();
}

function makeProjection() {
  projection = state.globe
    ? geoOrthographic().rotate(state.rotate).clipAngle(90)
    : geoNaturalEarth1();
  projection.fitExtent([[6, 6], [width - 6, height - 6]], { type: "Sphere" });
  state.baseDirty = true;
}

function drawBase() {
  const ctx = base.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const path = geoPath(projection, ctx);
  ctx.beginPath(); path({ type: "Sphere" }); ctx.fillStyle = "#0b1e33"; ctx.fill();
  ctx.beginPath(); path(geoGraticule10()); ctx.strokeStyle = "rgba(255,255,255,0.08)"; ctx.lineWidth = 0.5; ctx.stroke();
  if (state.land) {
    ctx.beginPath(); path(state.land); ctx.fillStyle = "#2b3f2f"; ctx.fill();
    ctx.strokeStyle = "#6d8a6f"; ctx.lineWidth = 0.6; ctx.stroke();
  }
  ctx.beginPath(); path({ type: "Sphere" }); ctx.strokeStyle = "#4a6078"; ctx.lineWidth = 1; ctx.stroke();
  state.baseDirty = false;
}

function probabilityColour(p) {
  const x = Math.min(Math.max(p, 0), 1) * (PROBABILITY_STOPS.length - 1);
  const i = Math.min(Math.floor(x), PROBABILITY_STOPS.length - 2), f = x - i;
  const [a, b] = [PROBABILITY_STOPS[i], PROBABILITY_STOPS[i + 1]];
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * f)).join(",")})`;
}

const buffers = { lon: null, lat: null, x: null, y: null, seen: null };

/** Whether a point (degrees) is on the globe's hemisphere facing the viewer. */
function facing(latDeg, lonDeg) {
  const [r0, r1] = projection.rotate();
  const cLat = -r1 / DEG, la = latDeg / DEG;
  return Math.sin(cLat) * Math.sin(la) + Math.cos(cLat) * Math.cos(la) * Math.cos(lonDeg / DEG + r0 / DEG) > 0;
}

function ensureBuffers(n) {
  if (!buffers.lon || buffers.lon.length < n) {
    buffers.lon = new Float64Array(n); buffers.lat = new Float64Array(n);
    buffers.x = new Float32Array(n); buffers.y = new Float32Array(n); buffers.seen = new Uint8Array(n);
  }
}

// Pixels of the marks canvas, as 32-bit words (RGBA bytes, little-endian: 0xAABBGGRR).
const LINK_RGB = 0x00ffaa6e;          // rgb(110, 170, 255)
const LINK_ALPHA = 0.35;
const SATELLITE_RGBA = 0xfff5eee9;    // #e9eef5, opaque
/** The link pixel a link pixel of alpha ``a`` (the top byte) becomes when another link crosses it. */
const LINK_OVER = Uint32Array.from({ length: 256 }, (_, a) => ((Math.round(a + (255 - a) * LINK_ALPHA) << 24) | LINK_RGB) >>> 0);
let pixels = null;

/** The canvas's pixel buffer, cleared (one per canvas size). */
function pixelsOf(ctx) {
  const w = marks.width, h = marks.height;
  if (!pixels || pixels.w !== w || pixels.h !== h) {
    const image = ctx.createImageData(w, h);
    pixels = { image, words: new Uint32Array(image.data.buffer), w, h };
  }
  pixels.words.fill(0);
  return pixels;
}

/** A one-pixel link line (device pixels), each pixel more opaque where lines cross. */
function blendLine(px, x0, y0, x1, y1) {
  const { words, w, h } = px;
  const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1));
  const dx = (x1 - x0) / n, dy = (y1 - y0) / n;
  // Half a pixel ahead, so that truncation rounds (coordinates below 0 are skipped anyway).
  let x = x0 + 0.5, y = y0 + 0.5;
  for (let i = 0; i <= n; i++, x += dx, y += dy) {
    if (x < 0 || y < 0) continue;
    const xi = x | 0, yi = y | 0;
    if (xi >= w || yi >= h) continue;
    const k = yi * w + xi;
    words[k] = LINK_OVER[words[k] >>> 24];
  }
}

function fillSquare(px, x0, y0, size) {
  const { words, w, h } = px;
  for (let y = Math.max(y0, 0); y < Math.min(y0 + size, h); y++) {
    for (let x = Math.max(x0, 0); x < Math.min(x0 + size, w); x++) words[y * w + x] = SATELLITE_RGBA;
  }
}

function drawMarks(win, ms) {
  const ctx = marks.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (!win) return 0;
  ensureBuffers(win.count);
  const { lon, lat, x, y, seen } = buffers;
  geodetic(win, ms, lon, lat);
  // On the globe, a point is seen when it is on the hemisphere facing the viewer.
  const [r0, r1] = projection.rotate();
  const cLon = -r0 / DEG, cLat = -r1 / DEG;
  const sinC = Math.sin(cLat), cosC = Math.cos(cLat);
  let drawn = 0;
  for (let s = 0; s < win.count; s++) {
    if (!Number.isFinite(lon[s]) || !Number.isFinite(lat[s])) { seen[s] = 0; continue; }
    if (state.globe) {
      const la = lat[s] / DEG, lo = lon[s] / DEG;
      if (sinC * Math.sin(la) + cosC * Math.cos(la) * Math.cos(lo - cLon) <= 0) { seen[s] = 0; continue; }
    }
    const p = projection([lon[s], lat[s]]);
    if (!p) { seen[s] = 0; continue; }
    x[s] = p[0]; y[s] = p[1]; seen[s] = 1;
  }
  const jump = width / 3; // a segment longer than this crosses the map's edge: not drawn
  // Links and satellites are written straight into the pixels: thousands of canvas paths cost the
  // browser far more to rasterise (off the script's clock, but in every frame) than this loop.
  const px = pixelsOf(ctx);
  const { linkA, linkB, upStart, upMs } = win;
  for (let l = 0; l < win.linkCount; l++) {
    const a = linkA[l], b = linkB[l];
    if (!seen[a] || !seen[b]) continue;
    let up = false;
    for (let i = upStart[l]; i < upStart[l + 1]; i += 2) if (ms >= upMs[i] && ms <= upMs[i + 1]) { up = true; break; }
    if (!up || Math.abs(x[a] - x[b]) > jump) continue;
    blendLine(px, x[a] * dpr, y[a] * dpr, x[b] * dpr, y[b] * dpr);
  }
  const dot = Math.max(1, Math.round(2 * dpr));
  for (let s = 0; s < win.count; s++) {
    if (!seen[s]) continue;
    fillSquare(px, Math.round((x[s] - 1) * dpr), Math.round((y[s] - 1) * dpr), dot);
    drawn += 1;
  }
  ctx.putImageData(px.image, 0, 0);
  drawPlacement(ctx, win, x, y, seen, jump);
  drawRoute(ctx, win, x, y, seen, jump);
  lastFrame.win = win;
  hooks.firstSatXY = seen[0] ? [x[0], y[0]] : null;
  return drawn;
}

function drawPlacement(ctx, win, x, y, seen, jump) {
  const pl = state.placement;
  if (!pl) return;
  const at = (norad) => win.index.get(`sat-${norad}`);
  // The ring of gates, in layer order, closed.
  const gates = pl.layers.map((l) => at(l.gate_norad_id));
  ctx.beginPath();
  for (let i = 0; i < gates.length; i++) {
    const a = gates[i], b = gates[(i + 1) % gates.length];
    if (a === undefined || b === undefined || !seen[a] || !seen[b] || Math.abs(x[a] - x[b]) > jump) continue;
    ctx.moveTo(x[a], y[a]); ctx.lineTo(x[b], y[b]);
  }
  ctx.strokeStyle = "#ff4d4d"; ctx.lineWidth = 2; ctx.stroke();
  const layer = pl.layers[Math.min(state.layer, pl.layers.length - 1)];
  if (!layer) return;
  const top = Math.max(...layer.experts_by_probability.map((e) => e.probability), 1e-12);
  for (const e of layer.experts_by_probability) {
    const s = at(e.norad_id);
    if (s === undefined || !seen[s]) continue;
    ctx.beginPath(); ctx.arc(x[s], y[s], 4.5, 0, 2 * Math.PI);
    ctx.fillStyle = probabilityColour(e.probability / top); ctx.fill();
    ctx.strokeStyle = "#000"; ctx.lineWidth = 0.8; ctx.stroke();
  }
  const g = at(layer.gate_norad_id);
  if (g !== undefined && seen[g]) {
    ctx.beginPath(); ctx.arc(x[g], y[g], 7, 0, 2 * Math.PI);
    ctx.strokeStyle = "#ff4d4d"; ctx.lineWidth = 2.5; ctx.stroke();
  }
}

/** Where a route point is drawn: a satellite (``norad_id``) as this frame placed it, a ground point projected. */
function routeXY(win, x, y, seen, point) {
  if (point.norad_id !== undefined) {
    const s = win.index.get(`sat-${point.norad_id}`);
    return s !== undefined && seen[s] ? [x[s], y[s]] : null;
  }
  if (state.globe && !facing(point.latitude_deg, point.longitude_deg)) return null;
  return projection([point.longitude_deg, point.latitude_deg]);
}

function drawRoute(ctx, win, x, y, seen, jump) {
  const { from, to, answer } = state.route;
  if (answer) {
    const path = answer.path.map((p) => routeXY(win, x, y, seen, p));
    ctx.beginPath();
    for (let i = 1; i < path.length; i++) {
      const a = path[i - 1], b = path[i];
      if (!a || !b || Math.abs(a[0] - b[0]) > jump) continue;
      ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
    }
    ctx.strokeStyle = "#ffe14d"; ctx.lineWidth = 2.5; ctx.stroke();
  }
  for (const end of [from, to]) {
    const p = end && routeXY(win, x, y, seen, end.point);
    if (!p) continue;
    ctx.beginPath();
    if (end.point.norad_id !== undefined) ctx.arc(p[0], p[1], 6, 0, 2 * Math.PI);
    else ctx.rect(p[0] - 5, p[1] - 5, 10, 10);  // a place on the ground: a square
    ctx.strokeStyle = "#ffe14d"; ctx.lineWidth = 2; ctx.stroke();
  }
}

/** The satellite drawn nearest to a click (within 10 px), as its NORAD id, or null. */
function pickSatellite(event) {
  const win = lastFrame.win;
  if (!win) return null;
  const box = marks.getBoundingClientRect();
  const cx = event.clientX - box.left, cy = event.clientY - box.top;
  let best = null, bestD = 100;
  for (let s = 0; s < win.count; s++) {
    if (!buffers.seen[s]) continue;
    const d = (buffers.x[s] - cx) ** 2 + (buffers.y[s] - cy) ** 2;
    if (d < bestD) { bestD = d; best = s; }
  }
  return best === null ? null : win.norad[best];
}

/** A route end where the map was clicked: the satellite drawn there (within 10 px), or the ground point. */
function routeEndAt(event) {
  const norad = pickSatellite(event);
  if (norad !== null) return { query: String(norad), point: { norad_id: norad } };
  const box = marks.getBoundingClientRect();
  return groundAt(event.clientX - box.left, event.clientY - box.top);
}

/** The ground point drawn at CSS pixel (x, y) of the map as a route end, or null off the map. */
function groundAt(x, y) {
  const p = projection.invert([x, y]);
  // Off the map (outside the outline, or off the globe's disc) is no point: it does not project back.
  if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1]) || Math.abs(p[0]) > 180 || Math.abs(p[1]) > 90) return null;
  const back = projection(p);
  if (!back || Math.hypot(back[0] - x, back[1] - y) > 1) return null;
  const lat = Number(p[1].toFixed(4)), lon = Number(p[0].toFixed(4));
  return { query: `${lat},${lon}`, point: { latitude_deg: lat, longitude_deg: lon } };
}

const pointText = (p) => (p.norad_id !== undefined ? `NORAD ${p.norad_id}`
  : `${fmt(Math.abs(p.latitude_deg), 2)}°${p.latitude_deg < 0 ? "S" : "N"} ${fmt(Math.abs(p.longitude_deg), 2)}°${p.longitude_deg < 0 ? "W" : "E"}`);

function showRoute() {
  const { from, to, answer, picking } = state.route;
  const box = $("route-result");
  if (answer) {
    box.textContent = `${pointText(answer.from)} → ${pointText(answer.to)} at ${answer.time_utc.replace("T", " ")}: `
      + `${answer.hops} hops, ${fmt(answer.distance_km, 0)} km, ${fmt(answer.latency_ms, 2)} ms `
      + `(propagation ${fmt(answer.propagation_ms, 2)}, transmission ${fmt(answer.transmission_ms, 3)}, `
      + `forwarding ${fmt(answer.forwarding_ms, 2)} ms)`;
    box.dataset.latency = String(answer.latency_ms);
  } else if (picking) {
    box.textContent = from === null ? "click the start on the map: a satellite or a place on the ground"
      : `from ${pointText(from.point)}: now click the end`;
  } else {
    box.textContent = "";
  }
  $("route-button").classList.toggle("on", picking);
}

async function onMapClick(event) {
  const route = state.route;
  if (!route.picking) return;
  const end = routeEndAt(event);
  if (end === null) return;
  if (route.from === null || route.to !== null) {
    Object.assign(route, { from: end, to: null, answer: null });
    hooks.route = null;
    showRoute();
    return;
  }
  route.to = end;
  route.picking = false;
  showRoute();
  const time = iso(floorTo(state.clockMs, QUERY_STEP_S));
  hooks.routeQuery = { from: route.from.query, to: end.query, time };
  const query = new URLSearchParams(hooks.routeQuery);
  try {
    route.answer = await json(scenarioPath(`/route?${query}`));
    hooks.route = route.answer;
  } catch (err) {
    showError(err.message);
  }
  showRoute();
}

// ------------------------------------------------------------------ clock

function setSpeed(speed) {
  state.speed = speed;
  hooks.speed = speed;
  state.follow = false;
  document.querySelectorAll("[data-speed]").forEach((b) => b.classList.toggle("on", Number(b.dataset.speed) === speed));
  $("now").classList.remove("on");
}

function setPlaying(playing) {
  state.playing = playing;
  hooks.playing = playing;
  $("play").textContent = playing ? "Pause" : "Play";
}

function tick(wall) {
  const dt = state.lastWall === null ? 0 : wall - state.lastWall;
  state.lastWall = wall;
  if (state.scenario) {
    // The clock waits while the positions it would move to are still loading (like a video buffering).
    const next = state.follow ? Date.now() : state.clockMs + (state.playing ? dt * state.speed : 0);
    if (currentWindow(next) || state.follow) state.clockMs = next;
    if (state.baseDirty) drawBase();
    const started = performance.now();
    const win = currentWindow(state.clockMs);
    const drawn = drawMarks(win, state.clockMs);
    const frame = performance.now() - started;
    if (win) {
      hooks.frameMs.push(frame);
      if (hooks.frameMs.length > FRAME_HISTORY) hooks.frameMs.shift();
      $("frame-ms").textContent = `${frame.toFixed(1)} ms/frame`;
    } else {
      $("frame-ms").textContent = "loading positions…";
    }
    hooks.drawn = drawn;
    $("map").dataset.satellites = String(drawn);
    hooks.clockMs = state.clockMs;
    hooks.clockIso = iso(Math.floor(state.clockMs / 1000) * 1000);
    $("clock-time").textContent = hooks.clockIso.replace("T", " ");
    $("clock-time").dateTime = hooks.clockIso;
    queryAtClock();
  }
  requestAnimationFrame(tick);
}

// ------------------------------------------------------------------ latency, placement, compare

function queryAtClock() {
  const q = floorTo(state.clockMs, QUERY_STEP_S);
  if (state.query.inFlight || q === state.query.lastMs) return;
  state.query.inFlight = true;
  state.query.lastMs = q;
  const scenario = state.scenario;
  const time = iso(q);
  Promise.all([json(scenarioPath(`/latency?time=${time}`)), json(scenarioPath(`/placement?time=${time}`))])
    .then(([latency, placement]) => {
      if (scenario !== state.scenario) return;
      state.placement = placement;
      hooks.placementTime = placement.time_utc;
      showLatency(latency);
    })
    .catch((err) => showError(err.message))
    .finally(() => { state.query.inFlight = false; });
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));

function showLatency(row) {
  state.latency = row;
  hooks.latency = row;
  $("latency-time").textContent = `at ${row.time_utc.replace("T", " ")} · ${row.strategy}`;
  $("latency").dataset.time = row.time_utc;
  for (const [id, field, digits] of [["latency-expected", "expected_ms", 1], ["latency-p99", "p99_ms", 1],
                                     ["latency-tokens", "tokens_per_s", 3]]) {
    const cell = $(id);
    cell.textContent = field.endsWith("_ms") ? `${fmt(row[field], digits)} ms` : fmt(row[field], digits);
    cell.dataset.value = String(row[field]);
  }
  const parts = ["propagation_ms", "transmission_ms", "forwarding_ms", "compute_ms"];
  const total = parts.reduce((sum, k) => sum + (row[k] || 0), 0) || 1;
  $("breakdown").replaceChildren(...parts.map((k, i) => {
    const bar = document.createElement("div");
    bar.className = `part part-${i}`;
    bar.style.flexGrow = String((row[k] || 0) / total);
    bar.title = `${k.replace("_ms", "")}: ${fmt(row[k], 2)} ms`;
    bar.dataset.field = k;
    bar.dataset.value = String(row[k]);
    bar.textContent = `${k.replace("_ms", "")} ${fmt(row[k], 1)} ms`;
    return bar;
  }));
}

// ------------------------------------------------------------------ policies over time (a sweep's events)

const policyColour = (policy) => POLICY_COLOURS[Math.max(0, state.presets.policies.indexOf(policy)) % POLICY_COLOURS.length];

/** One "step" event: each policy's expected and p99 token latency at that step. */
function addStep(step) {
  hooks.steps.push(step);
  const entry = {};
  for (const [policy, row] of Object.entries(step.policies)) {
    entry[policy] = { expected: row.token_latency_expected_ms, p99: row.token_latency_p99_ms };
  }
  state.series.set(Date.parse(step.time_utc) / 1000, entry);
  redrawChart();
}

/** One "handover" event: what one policy moved at one step; a mark on the time axis. */
function addHandover(handover) {
  state.handovers.push(handover);
  hooks.handovers.push(handover);
  if (state.chart) placeMarks(state.chart);
}

function makeChart() {
  const series = [{}];
  for (const policy of state.presets.policies) {
    const stroke = policyColour(policy);
    series.push({ label: `${policy} expected`, stroke, width: 2, spanGaps: true, points: { show: true } });
    series.push({ label: `${policy} p99`, stroke, width: 1, dash: [5, 4], spanGaps: true, points: { show: true } });
  }
  const box = $("chart");
  state.chart = new uPlot({
    width: Math.max(300, box.clientWidth), height: 260, series,
    axes: [{ stroke: "#ccd" }, { stroke: "#ccd", label: "ms", grid: { stroke: "rgba(255,255,255,0.08)" } }],
    // A lone point gets ten minutes either side rather than years.
    scales: {
      x: { time: true, range: (u, lo, hi) => (hi - lo < 60 ? [lo - 600, hi + 600] : [lo, hi]) },
      // Room below the lowest line for the rows of handover marks.
      y: { range: (u, lo, hi) => { const span = Math.max(hi - lo, 1); return [lo - 0.35 * span, hi + 0.1 * span]; } },
    },
    legend: { live: false },
    plugins: [{ hooks: { draw: [placeMarks] } }],
  }, [[], ...series.slice(1).map(() => [])], box);
}

function redrawChart() {
  if (!state.chart) return;
  const times = [...state.series.keys()].sort((a, b) => a - b);
  const data = [times];
  for (const policy of state.presets.policies) {
    data.push(times.map((t) => state.series.get(t)[policy]?.expected ?? null));
    data.push(times.map((t) => state.series.get(t)[policy]?.p99 ?? null));
  }
  state.chart.setData(data);
}

/** The handover marks: a button per event at its time, in its policy's row at the foot of the plot. */
function placeMarks(u) {
  let layer = u.over.querySelector(".handover-marks");
  if (!layer) {
    layer = document.createElement("div");
    layer.className = "handover-marks";
    u.over.append(layer);
  }
  const height = u.over.clientHeight;
  const policies = state.presets.policies;
  layer.replaceChildren(...state.handovers.map((h, k) => {
    const mark = document.createElement("button");
    mark.type = "button";
    mark.className = "handover-mark";
    mark.dataset.index = String(k);
    mark.dataset.policy = h.policy;
    mark.dataset.time = h.time_utc;
    mark.style.left = `${u.valToPos(Date.parse(h.time_utc) / 1000, "x")}px`;
    mark.style.top = `${height - (policies.length - policies.indexOf(h.policy)) * MARK_ROW_PX}px`;
    mark.style.background = policyColour(h.policy);
    mark.title = `${h.policy} at ${h.time_utc.replace("T", " ")}: ${h.migrations} moved`;
    // Not a zoom: the chart's own drag starts on mousedown.
    mark.addEventListener("mousedown", (e) => e.stopPropagation());
    mark.addEventListener("click", (e) => { e.stopPropagation(); showHandover(k); });
    return mark;
  }));
}

const noradText = (id) => (id === null ? "(reloaded)" : String(id));

/** What moved at one handover mark: each gate or expert, from which satellite to which, and its cost. */
function showHandover(k) {
  const h = state.handovers[k];
  hooks.handoverShown = k;
  const box = $("handover-detail");
  box.hidden = false;
  box.dataset.index = String(k);
  $("handover-title").textContent = `${h.policy} at ${h.time_utc.replace("T", " ")}: ${h.migrations} moved, `
    + `transfer ${fmt(h.transfer_ms, 1)} ms in all, charged ${fmt(h.charged_ms, 1)} ms by the policy`;
  const rows = h.moves.map((m) => {
    const tr = document.createElement("tr");
    const cells = [m.kind, m.layer, m.expert ?? "—", noradText(m.from_norad_id), String(m.to_norad_id),
                   fmt(m.transfer_ms, 2), fmt(m.charged_ms, 2), m.forced ? "forced" : ""];
    const fields = ["kind", "layer", "expert", "from", "to", "transfer_ms", "charged_ms", "forced"];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = String(v);
      td.dataset.field = fields[i];
      tr.append(td);
    });
    return tr;
  });
  $("handover-moves").tBodies[0].replaceChildren(...rows);
}

async function runCompare() {
  const button = $("compare-button");
  button.disabled = true;
  const time = iso(floorTo(state.clockMs, QUERY_STEP_S));
  button.textContent = "computing…";
  try {
    const table = await json(scenarioPath(`/compare?time=${time}`));
    const body = $("compare").tBodies[0];
    body.replaceChildren(...table.rows.map((r) => {
      const tr = document.createElement("tr");
      for (const v of [r.strategy, fmt(r.expected_ms), fmt(r.p99_ms), fmt(r.tokens_per_s, 3),
                       fmt(r.ratio_to_space_xnet, 2)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
    $("compare").dataset.time = table.time_utc;
    $("compare").caption?.remove();
    const caption = $("compare").createCaption();
    caption.textContent = `at ${table.time_utc.replace("T", " ")} (${table.seeds} seeds, ${table.samples} samples)`;
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
    button.textContent = "at this time";
  }
}

// ------------------------------------------------------------------ sweep jobs

async function startSweep() {
  const status = $("sweep-status");
  const body = { start: iso(floorTo(state.clockMs, QUERY_STEP_S)), duration_s: SWEEP_DURATION_S, step_s: STEP_S };
  $("sweep-summary").replaceChildren();
  let job;
  try {
    job = await json(scenarioPath("/sweeps"), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      status.textContent = "This server runs no sweep jobs (POST /scenarios/{id}/sweeps is not there).";
      status.className = "unavailable";
    } else {
      showError(err.message);
    }
    return;
  }
  status.className = "";
  hooks.sweepJob = job.id;
  const show = (info) => {
    const eta = info.eta_s ? `, about ${Math.ceil(info.eta_s)} s left` : "";
    status.textContent = `sweep ${job.id} from ${body.start.replace("T", " ")}, ${body.duration_s} s: ${info.state}`
      + (info.steps_total ? `, ${info.steps_done}/${info.steps_total} steps${eta}` : "");
  };
  const finish = (info) => {
    hooks.sweepState = info.state;
    if (info.state === "done") {
      show(info);
      const link = document.createElement("a");
      link.href = info.dataset || `/jobs/${encodeURIComponent(job.id)}/dataset`;
      link.id = "sweep-dataset";
      link.download = `sweep-${job.id}.nc`;
      link.textContent = "download the NetCDF file";
      link.addEventListener("click", keyedDownload);
      status.append(" — ", link);
      if (info.summary) showSweepSummary(info.summary);
    } else {
      show(info);
      if (info.detail) showError(info.detail);
    }
  };
  let info = { ...job };
  show(info);
  // A new sweep draws its own policies over time.
  state.series.clear();
  state.handovers = [];
  hooks.steps = [];
  hooks.handovers = [];
  $("handover-detail").hidden = true;
  redrawChart();
  const scenario = state.scenario;
  const ended = await followEvents(job.id, (event, data) => {
    if (scenario !== state.scenario) return true;
    if (event === "step") addStep(data);
    else if (event === "handover") addHandover(data);
    else if (event === "progress" || event === "state") {
      info = { ...info, ...data };
      if (["failed", "cancelled"].includes(info.state)) { finish(info); return true; }
      show(info);
    } else if (event === "done") {
      finish({ ...info, ...data });
      return true;
    }
    return false;
  });
  if (!ended && scenario === state.scenario) pollJob(job.id, show, finish);
}

/**
 * Read a job's server-sent events with fetch (EventSource cannot send the API key), calling
 * ``handle(event, data)`` for each until it returns true; a dropped connection picks up after the last
 * event seen (Last-Event-ID). Returns false if the events could not be read.
 */
async function followEvents(jobId, handle) {
  let last = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    let response;
    try {
      response = await api(`/jobs/${encodeURIComponent(jobId)}/events`,
                           { headers: last === null ? {} : { "Last-Event-ID": String(last) } });
    } catch (err) {
      showError(err.message);
      return false;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const fields = {};
          for (const line of buffer.slice(0, cut).split("\n")) {
            const colon = line.indexOf(": ");
            if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 2);
          }
          buffer = buffer.slice(cut + 2);
          if (fields.id !== undefined) last = Number(fields.id);
          if (fields.event && handle(fields.event, JSON.parse(fields.data))) {
            reader.cancel();
            return true;
          }
        }
      }
    } catch (_) { /* the connection dropped: continue after the last event seen */ }
  }
  return false;
}

async function pollJob(id, show, finish) {
  let info;
  try {
    info = await json(`/jobs/${encodeURIComponent(id)}`);
  } catch (err) {
    showError(err.message);
    return;
  }
  if (["done", "failed", "cancelled"].includes(info.state)) finish(info);
  else { show(info); setTimeout(() => pollJob(id, show, finish), 1000); }
}

function showSweepSummary(rows) {
  const table = $("sweep-summary");
  const head = document.createElement("tr");
  for (const h of ["policy", "mean expected ms", "mean p99 ms", "worst expected ms", "migrations", "GB moved"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  table.replaceChildren(head, ...rows.map((r) => {
    const tr = document.createElement("tr");
    for (const v of [r.policy, fmt(r.mean_expected_ms), fmt(r.mean_p99_ms), fmt(r.worst_expected_ms), r.migrations,
                     fmt(r.moved_gb, 2)]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  }));
}

// ------------------------------------------------------------------ scenarios

async function refreshScenarios(selected) {
  const { scenarios } = await json("/scenarios");
  const select = $("scenario-select");
  select.replaceChildren(...scenarios.map((s) => {
    const option = document.createElement("option");
    option.value = s.id;
    const name = s.aliases.includes("default") ? `default (${s.id})` : s.id;
    option.textContent = `${name}: ${s.source}, ${s.satellites} satellites`;
    return option;
  }));
  select.value = selected;
}

async function loadScenario(id) {
  clearError();
  const summary = await json(`/scenarios/${encodeURIComponent(id)}`);
  state.summary = summary;
  state.scenario = summary.id;
  state.windows.clear();
  state.placement = null;
  state.route = { picking: false, from: null, to: null, answer: null };
  hooks.route = null;
  state.series.clear();
  state.handovers = [];
  hooks.steps = [];
  hooks.handovers = [];
  $("handover-detail").hidden = true;
  state.query = { inFlight: false, lastMs: null };
  redrawChart();
  state.clockMs = Date.parse(summary.epochs.reference_utc);
  hooks.scenario = summary.id;
  hooks.satellites = summary.satellites;
  $("layer-select").replaceChildren(...Array.from({ length: summary.layers }, (_, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = String(i);
    return option;
  }));
  state.layer = Math.min(state.layer, summary.layers - 1);
  $("layer-select").value = String(state.layer);
  $("czml-link").href = `/scenarios/${summary.id}/czml?start=${iso(floorTo(state.clockMs, STEP_S))}`;
  showNotice(summary.warnings.join(" · "));
  const url = new URL(window.location.href);
  url.searchParams.set("scenario", summary.id);
  window.history.replaceState(null, "", url);
  await refreshScenarios(summary.id);
}

async function addScenario(request) {
  clearError();
  try {
    const made = await json("/scenarios", request);
    await loadScenario(made.id);
    $("new-scenario").open = false;
  } catch (err) {
    showError(err.message);
  }
}

function wireForms() {
  $("preset-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addScenario({ method: "POST", headers: { "Content-Type": "application/json" },
                  body: JSON.stringify({ constellation: { preset: $("preset-select").value } }) });
  });
  $("walker-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const constellation = { walker: $("walker-spec").value, altitude_km: Number($("walker-altitude").value),
                            star: $("walker-star").checked };
    addScenario({ method: "POST", headers: { "Content-Type": "application/json" },
                  body: JSON.stringify({ constellation }) });
  });
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("upload-file").files[0];
    if (!file) { showError("choose an element file (3LE/2LE or OMM) to upload"); return; }
    const form = new FormData();
    form.append($("upload-kind").value, file, file.name);
    addScenario({ method: "POST", body: form });
  });
  $("scenario-select").addEventListener("change", (e) => loadScenario(e.target.value).catch((err) => showError(err.message)));
  $("play").addEventListener("click", () => { state.follow = false; $("now").classList.remove("on"); setPlaying(!state.playing); });
  document.querySelectorAll("[data-speed]").forEach((b) => b.addEventListener("click", () => setSpeed(Number(b.dataset.speed))));
  $("now").addEventListener("click", () => {
    state.follow = true;
    setPlaying(true);
    $("now").classList.add("on");
    document.querySelectorAll("[data-speed]").forEach((b) => b.classList.remove("on"));
  });
  $("globe").addEventListener("change", (e) => { state.globe = e.target.checked; hooks.globe = state.globe; resize(); });
  $("layer-select").addEventListener("change", (e) => { state.layer = Number(e.target.value); });
  $("compare-button").addEventListener("click", runCompare);
  $("route-button").addEventListener("click", () => {
    Object.assign(state.route, { picking: !state.route.picking, from: null, to: null, answer: null });
    hooks.route = null;
    showRoute();
  });
  marks.addEventListener("click", onMapClick);
  $("czml-link").addEventListener("click", keyedDownload);
  $("sweep-button").addEventListener("click", startSweep);
  $("api-key-box").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("spacexnet-api-key", $("api-key").value);
    $("api-key-box").hidden = true;
    boot();
  });
  // Drag the globe to turn it.
  let drag = null;
  marks.addEventListener("pointerdown", (e) => { if (state.globe) drag = [e.clientX, e.clientY, ...state.rotate]; });
  window.addEventListener("pointerup", () => { drag = null; });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    state.rotate = [drag[2] + (e.clientX - drag[0]) * 0.3, Math.max(-90, Math.min(90, drag[3] - (e.clientY - drag[1]) * 0.3))];
    projection.rotate(state.rotate);
    state.baseDirty = true;
  });
  window.addEventListener("resize", resize);
}

// ------------------------------------------------------------------ start

async function boot() {
  try {
    const [presets, land] = await Promise.all([json("/presets"), json("/static/vendor/world-atlas/land-110m.json")]);
    state.presets = presets;
    state.land = topojson.feature(land, land.objects.land);
    $("preset-select").replaceChildren(...presets.constellations.map((c) => {
      const option = document.createElement("option");
      option.value = c.name;
      option.textContent = c.name;
      option.title = c.description;
      return option;
    }));
    if (!state.chart) makeChart();
    const params = new URLSearchParams(window.location.search);
    await loadScenario(params.get("scenario") || "default");
    if (params.get("globe") === "1") { $("globe").checked = true; state.globe = true; hooks.globe = true; }
    if (params.get("speed")) setSpeed(Number(params.get("speed")));
    resize();
    if (params.get("play") === "1") setPlaying(true);
    hooks.ready = true;
  } catch (err) {
    showError(err.message);
  }
}

wireForms();
resize();
requestAnimationFrame(tick);
boot();
