// Space-XNet live view: fetches one CZML window and turns it into typed arrays, off the page's main thread
// (parsing the JSON of thousands of satellites' samples takes longer than a frame).
//
// Message in:  {id, url, key, startMs, windowS, stepS}   (key: the API key, or null)
// Message out: {id, win} with the window's arrays (their buffers transferred), or {id, error, status}.

/** The window's arrays: sampled Earth-fixed positions on a full grid, and each link's intervals of "up". */
function parseWindow(doc, startMs, windowS, stepS) {
  const sats = doc.filter((p) => p.id.startsWith("sat-"));
  const n = Math.round(windowS / stepS) + 1;
  const index = new Map();
  const norad = new Int32Array(sats.length);
  // Full grid per satellite, NaN where a sample is missing (failed SGP4 state).
  const pos = new Float64Array(sats.length * n * 3).fill(NaN);
  sats.forEach((p, s) => {
    index.set(p.id, s);
    norad[s] = Number(p.id.slice(4));
    const epochMs = Date.parse(p.position.epoch);
    const c = p.position.cartesian;
    for (let i = 0; i < c.length; i += 4) {
      const k = Math.round(((epochMs - startMs) / 1000 + c[i]) / stepS);
      if (k < 0 || k >= n) continue;
      const o = (s * n + k) * 3;
      pos[o] = c[i + 1]; pos[o + 1] = c[i + 2]; pos[o + 2] = c[i + 3];
    }
  });
  const degree = sats.length ? sats[0].position.interpolationDegree : 5;
  // Links flat: ends linkA[l], linkB[l]; "up" intervals [from, to] ms in upMs[upStart[l] .. upStart[l + 1]).
  const ends = [], starts = [0], up = [];
  for (const p of doc) {
    if (!p.id.startsWith("isl-")) continue;
    const [a, b] = p.polyline.positions.references.map((r) => index.get(r.split("#")[0]));
    if (a === undefined || b === undefined) continue;
    for (const show of p.polyline.show) {
      if (!show.boolean) continue;
      const [from, to] = show.interval.split("/").map(Date.parse);
      up.push(from, to);
    }
    ends.push(a, b);
    starts.push(up.length);
  }
  const pairs = Int32Array.from(ends);
  return {
    startMs, n, degree, norad, pos, count: sats.length, linkCount: pairs.length / 2,
    linkA: pairs.filter((_, i) => i % 2 === 0), linkB: pairs.filter((_, i) => i % 2 === 1),
    upStart: Int32Array.from(starts), upMs: Float64Array.from(up),
  };
}

self.onmessage = async (event) => {
  const { id, url, key, startMs, windowS, stepS } = event.data;
  try {
    const response = await fetch(url, { headers: key ? { "X-API-Key": key } : {} });
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText} (${url})`;
      try {
        const body = await response.json();
        if (body && typeof body.detail === "string") detail = body.detail;
      } catch (_) { /* not a problem body: keep the status line */ }
      self.postMessage({ id, error: detail, status: response.status });
      return;
    }
    const win = parseWindow(await response.json(), startMs, windowS, stepS);
    const buffers = [win.norad, win.pos, win.linkA, win.linkB, win.upStart, win.upMs].map((a) => a.buffer);
    self.postMessage({ id, win }, buffers);
  } catch (err) {
    self.postMessage({ id, error: String(err.message || err), status: 0 });
  }
};
