// Fan-out load client for tests/bench/fanout/run.py (Node + ws; `npm install` in this folder).
//
//   node loadclient.js <config.json>
//
// config: {targets: [url, ...] (viewers are spread over them), publisher: url, viewers,
//          rate (connects/s), fps, duration (s), tickets: [..] | null, origin, pad}
// Each url may contain {ticket}; with tickets, viewer i uses tickets[i] and a retry takes a
// spare from the end of the list (a ticket works once).
//
// Phases, one JSON line each on stdout:
//   1. connect the viewers, ramped at `rate`/s, retrying a failed connect with jittered
//      backoff (up to 6 attempts); a viewer counts as admitted at its first frame (the
//      snapshot) or, for the bare server, at open  -> {"phase": "connected", ...}
//   2. wait for a line on stdin (the runner measures the server's memory meanwhile)
//   3. the publisher sends `fps` frames/s for `duration` s, each carrying its send time; every
//      viewer records the latency of each frame it gets  -> {"phase": "done", ...}
'use strict';

const fs = require('fs');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const tickets = config.tickets || null;
let spare = tickets ? tickets.length - 1 : 0;
const firstTickets = config.viewers + 1;

function urlFor(template, index, retry) {
  if (!tickets) return template.replace('{ticket}', 'none');
  let ticket = tickets[index];
  if (retry) {
    if (spare < firstTickets) return null;
    ticket = tickets[spare--];
  }
  return template.replace('{ticket}', ticket);
}

const histogram = new Uint32Array(120001); // latency in ms, last bucket = 120 s and more
let delivered = 0;
let admitted = 0;
let failed = 0;
let retries = 0;
let closedLater = 0;
const closeCodes = {};
let publishing = false;
let firstSend = 0;
let lastReceive = 0;

function record(frameText) {
  // Frames: {"seq":..,"type":"bench.frame","n":..,"t":..} or a batch of such frames; the bare
  // server forwards the publisher's frame as it is.
  const frame = JSON.parse(frameText);
  const now = performance.now();
  const items = frame.type === 'batch' ? frame.items : [frame];
  for (const item of items) {
    if (typeof item.t !== 'number') continue;
    const ms = Math.min(120000, Math.max(0, Math.round(now - item.t)));
    histogram[ms]++;
    delivered++;
    lastReceive = now;
  }
}

function connectViewer(index, attempt) {
  const target = config.targets[index % config.targets.length];
  const url = urlFor(target, index, attempt > 0);
  if (url === null) { failed++; return; }
  const ws = new WebSocket(url, { origin: config.origin, perMessageDeflate: false, handshakeTimeout: 300000 });
  let isAdmitted = false;
  const admit = () => {
    if (isAdmitted) return;
    isAdmitted = true;
    admitted++;
  };
  ws.on('open', () => { if (config.admitOnOpen) admit(); });
  ws.on('message', (data) => {
    if (!isAdmitted) {
      const text = data.toString();
      if (text.includes('"snapshot"')) { admit(); return; }
      admit();
    }
    if (publishing) record(data.toString());
  });
  const retry = () => {
    if (attempt >= 8) { failed++; return; }
    retries++;
    const backoff = Math.min(8000, 250 * 2 ** attempt);
    setTimeout(() => connectViewer(index, attempt + 1), backoff / 2 + Math.random() * backoff / 2);
  };
  ws.on('error', (error) => {
    const key = `error:${error.code || error.message}`.slice(0, 60);
    closeCodes[key] = (closeCodes[key] || 0) + 1;
  });
  ws.on('unexpected-response', (request, response) => {
    const key = `http:${response.statusCode}`;
    closeCodes[key] = (closeCodes[key] || 0) + 1;
    request.destroy();
    retry();
  });
  ws.on('close', (code) => {
    closeCodes[code] = (closeCodes[code] || 0) + 1;
    if (!isAdmitted) retry();
    else closedLater++;
  });
}

function percentile(p) {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (!total) return null;
  let seen = 0;
  const wanted = Math.ceil(total * p);
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms];
    if (seen >= wanted) return ms;
  }
  return histogram.length - 1;
}

function emit(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

async function main() {
  const started = performance.now();
  // The publisher first (ticket index = viewers).
  const publisher = await new Promise((resolve, reject) => {
    const ws = new WebSocket(urlFor(config.publisher, config.viewers, false),
      { origin: config.origin, perMessageDeflate: false });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
  publisher.on('message', () => {});

  // Ramp: `rate` connects per second, in ticks of 10 ms.
  let next = 0;
  await new Promise((resolve) => {
    const perTick = config.rate / 100;
    let budget = 0;
    const timer = setInterval(() => {
      budget += perTick;
      while (budget >= 1 && next < config.viewers) { connectViewer(next++, 0); budget -= 1; }
      if (next >= config.viewers) { clearInterval(timer); resolve(); }
    }, 10);
  });
  const deadline = performance.now() + (config.connectTimeout || 60) * 1000;
  while (admitted + failed < config.viewers && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  emit({ phase: 'connected', admitted, failed, retries, seconds: (performance.now() - started) / 1000,
    closeCodes });

  await new Promise((resolve) => process.stdin.once('data', resolve));

  publishing = true;
  const pad = 'x'.repeat(config.pad || 40);
  const frames = Math.round(config.fps * config.duration);
  firstSend = performance.now();
  for (let n = 0; n < frames; n++) {
    const due = firstSend + (n * 1000) / config.fps;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    publisher.send(JSON.stringify({ type: 'bench.publish', n, t: performance.now(), pad }));
  }
  const publishEnd = performance.now();
  const expected = frames * admitted;
  const drainUntil = publishEnd + (config.drain || 10) * 1000;
  while (delivered < expected && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (publishEnd - firstSend) / 1000;
  emit({
    phase: 'done', admitted, failed, retries, frames, expected, delivered,
    deliveredPerSecond: delivered / seconds,
    completeness: expected ? delivered / expected : 0,
    p50: percentile(0.5), p99: percentile(0.99), max: percentile(1),
    lateSeconds: Math.max(0, (lastReceive - publishEnd) / 1000), closedLater, closeCodes,
  });
  process.exit(0);
}

main().catch((error) => { emit({ phase: 'error', error: String(error) }); process.exit(1); });
