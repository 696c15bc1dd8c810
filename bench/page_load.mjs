// The web page's load time and size, in Debian's chromium (headless, through playwright-core),
// against a real `chaja serve` on 127.0.0.1 with docs/sample indexed. Each run opens a fresh
// browser context (empty cache) and loads "/" until the page is ready to ask (the model and
// collection selectors filled from the API). Baseline, in the same run: an empty HTML page from a
// local node server, i.e. what a navigation costs the browser itself.
//
//   CHAJA_BINARY=build/chaja CHAJA_SOURCE_DIR=. node bench/page_load.mjs [--runs 15]
//
// Needs tests/browser/node_modules (scripts/test installs it).
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const harness = await import(path.join(here, "../tests/browser/harness.mjs"));
const { chaja, cleanupAll, launchBrowser, sourceDir, startServer, startSite, tempDir } = harness;

const runsArg = process.argv.indexOf("--runs");
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(browser, url, ready) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  if (ready) await page.waitForFunction(ready);
  const readyMs = Date.now() - t0;
  const m = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource");
    const bytes = (e) => e.transferSize || e.encodedBodySize || 0;
    return {
      dcl: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      transferred: bytes(nav) + res.reduce((n, e) => n + bytes(e), 0),
      decoded: (nav.decodedBodySize || 0) + res.reduce((n, e) => n + (e.decodedBodySize || 0), 0),
      requests: 1 + res.length,
    };
  });
  await context.close();
  return { ...m, ready: readyMs };
}

try {
  const dataDir = tempDir();
  chaja(["index", path.join(sourceDir, "docs/sample")], { dataDir });
  const server = await startServer({ dataDir });
  const blank = await startSite({ "/": { body: "<!doctype html><title>blank</title><p>blank" } });
  const browser = await launchBrowser();
  const chajaReady = () =>
    document.querySelector("#model option") && document.querySelector("#collection option");

  const rows = { blank: [], chaja: [] };
  await measure(browser, blank.base + "/");  // warm the browser itself once
  for (let i = 0; i < runs; i++) {
    rows.blank.push(await measure(browser, blank.base + "/"));
    rows.chaja.push(await measure(browser, server.base + "/", chajaReady));
  }
  const summary = (list) => ({
    dcl: median(list.map((r) => r.dcl)),
    load: median(list.map((r) => r.load)),
    ready: median(list.map((r) => r.ready)),
    transferred: median(list.map((r) => r.transferred)),
    decoded: median(list.map((r) => r.decoded)),
    requests: median(list.map((r) => r.requests)),
  });
  const b = summary(rows.blank);
  const c = summary(rows.chaja);
  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`page load, fresh context each run, medians of ${runs} runs (ms, bytes)\n`);
  console.log("| page | DOMContentLoaded | load | ready to ask | requests | bytes over the wire | bytes decoded |");
  console.log("|---|---|---|---|---|---|---|");
  console.log(`| empty page (baseline) | ${f(b.dcl)} | ${f(b.load)} | ${f(b.ready)} | ${b.requests} | ${b.transferred} | ${b.decoded} |`);
  console.log(`| Chaja / | ${f(c.dcl)} | ${f(c.load)} | ${f(c.ready)} | ${c.requests} | ${c.transferred} | ${c.decoded} |`);
  console.log(`\nChaja's page over the empty page: load ${(c.load / b.load).toFixed(2)}x, ready ${(c.ready / b.ready).toFixed(2)}x`);
} finally {
  await cleanupAll();
}
