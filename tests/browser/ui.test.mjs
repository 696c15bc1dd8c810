// The web page at "/": a real `chaja serve` and Debian's chromium (see harness.mjs).
//
//   CHAJA_BINARY=build/chaja CHAJA_SOURCE_DIR=. node --test tests/browser/ui.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  chaja,
  cleanupAll,
  launchBrowser,
  newPage,
  screenshot,
  sourceDir,
  startReplayModel,
  startServer,
  tempDir,
} from "./harness.mjs";

const LIGHTHOUSE_Q = "When was the Greywick Point lighthouse first lit?";
const HANBIT_Q = "한빛반도체의 대표이사는 누구인가요?";
const HANBIT_FOLLOWUP = "그 회사의 기업 가치는?";
const XSS_TEXT =
  '<img src=x onerror="window.__pwned=1"> The Quillon bridge opened in 1911. ' +
  "It crosses the Aubrel river at Fenwick and carries two lanes of traffic.\n";
const REPLAY_ANSWER =
  'Answer <script>window.__pwned=2</script> <img src=x onerror="window.__pwned=3"> text [1].' +
  "\n\nThe replayed model streams this answer twelve characters at a time, so that a test can " +
  "watch it arrive in pieces rather than all at once, the way a real model answers [1].";

let server; // the sample documents, the extractive model
let replay; // a replayed model that answers with HTML and script
let browser;

before(async () => {
  const dataDir = tempDir();
  chaja(["index", path.join(sourceDir, "docs/sample")], { dataDir });
  const xssDir = tempDir("chaja-xss-");
  fs.writeFileSync(path.join(xssDir, "quillon-bridge.txt"), XSS_TEXT);
  chaja(["index", xssDir], { dataDir });
  server = await startServer({ dataDir });

  const model = await startReplayModel(() => REPLAY_ANSWER);
  const replayData = tempDir();
  chaja(["index", xssDir], { dataDir: replayData });
  const config = path.join(replayData, "config.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      default_model: "openai-compat:replay",
      providers: { "openai-compat": { base_url: model.base + "/v1" } },
    }),
  );
  replay = await startServer({ dataDir: replayData, args: ["--config", config] });
  browser = await launchBrowser();
});

after(cleanupAll);

async function open(base, options = {}, hash = "") {
  const page = await newPage(browser, { viewport: { width: 1280, height: 800 }, ...options });
  await page.goto(base + "/" + hash);
  await page.waitForFunction(() => document.querySelector("#model option"));
  return page;
}

// Types a question in the visible ask box, presses Enter, waits for that turn to finish.
async function ask(page, question) {
  const before = await page.locator("#thread .turn").count();
  const box = (await page.locator("#home").isVisible()) ? "#q" : "#followup";
  await page.fill(box, question);
  await page.press(box, "Enter");
  const turn = page.locator("#thread .turn").nth(before);
  await turn.and(page.locator('[data-state="done"], [data-state="error"]')).waitFor();
  return turn;
}

function threadIdOf(page) {
  const m = /#\/t\/([0-9a-f]+)$/.exec(page.url());
  return m && m[1];
}

function noProblems(page) {
  assert.deepEqual(page.problems, []);
}

// Records, from before the question is sent, every length the first turn's answer had while it
// was streaming.
async function watchStreaming(page) {
  await page.evaluate(() => {
    window.__seen = { streaming: false, lengths: [] };
    new MutationObserver(() => {
      const turn = document.querySelector("#thread .turn");
      if (!turn || turn.dataset.state !== "streaming") return;
      window.__seen.streaming = true;
      const len = turn.querySelector(".turn-answer").textContent.length;
      const l = window.__seen.lengths;
      if (len && l[l.length - 1] !== len) l.push(len);
    }).observe(document.getElementById("thread"), {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
}

test("an answer streams in, with chips, a hover card and the document panel", async () => {
  // The extractive model answers at once; the replayed model streams in 12-character pieces.
  const streamed = await open(replay.base);
  await watchStreaming(streamed);
  const t1 = await ask(streamed, "When did the Quillon bridge open?");
  assert.equal(await t1.getAttribute("data-state"), "done");
  const seen = await streamed.evaluate(() => window.__seen);
  assert.ok(seen.streaming, "the turn was seen streaming");
  assert.ok(seen.lengths.length >= 2, "the answer grew in steps: " + JSON.stringify(seen.lengths));
  noProblems(streamed);

  const page = await open(server.base);
  const turn = await ask(page, LIGHTHOUSE_Q);
  assert.equal(await turn.getAttribute("data-state"), "done");
  assert.match(await turn.locator(".turn-answer").innerText(), /14 October 1873/);
  assert.ok((await turn.locator(".turn-steps .step").count()) >= 1, "the search step is shown");
  assert.ok((await turn.locator(".turn-sources .source-card").count()) >= 1);
  assert.equal(await turn.locator(".source-card").first().getAttribute("data-cited"), "true");
  assert.ok((await turn.locator(".turn-related button.related").count()) >= 1);

  const chip = turn.locator(".turn-answer button.chip").first();
  assert.equal(await chip.textContent(), "1");
  await chip.hover();
  const pop = page.locator("#popover");
  await pop.waitFor({ state: "visible" });
  assert.match(await pop.locator(".cite-card-title").innerText(), /Greywick/);
  assert.match(await pop.locator(".cite-card-from").innerText(), /greywick-lighthouse\.md/);
  assert.match(await pop.locator(".cite-card-snippet").innerText(), /1873/);
  await screenshot(page, "ui-popover");

  await chip.click();
  const panel = page.locator("#doc-panel");
  await panel.waitFor({ state: "visible" });
  await page.locator("#doc-body mark.cited").waitFor();
  assert.match(await page.locator("#doc-title").innerText(), /Greywick/);
  assert.match(await page.locator("#doc-source").innerText(), /greywick-lighthouse\.md/);
  assert.match(await page.locator("#doc-body mark.cited").innerText(), /14 October 1873/);
  assert.ok(await page.locator("#doc-body mark.cited").isVisible());
  await screenshot(page, "ui-doc-panel");
  await page.keyboard.press("Escape"); // the popover, if the mouse left it open
  await page.keyboard.press("Escape");
  await panel.waitFor({ state: "hidden" });
  noProblems(page);
});

test("a follow-up stays in the thread and is rewritten", async () => {
  const page = await open(server.base);
  const first = await ask(page, HANBIT_Q);
  assert.match(await first.locator(".turn-answer").innerText(), /박서연/);
  const id = threadIdOf(page);
  assert.ok(id, "the URL names the thread: " + page.url());
  assert.ok(await page.locator("#followup").isVisible(), "the follow-up box is shown");
  const second = await ask(page, HANBIT_FOLLOWUP);
  assert.equal(await second.getAttribute("data-state"), "done");
  assert.equal(threadIdOf(page), id);
  assert.equal(await page.locator("#thread .turn").count(), 2);
  assert.equal(await second.locator(".turn-question").innerText(), HANBIT_FOLLOWUP);
  assert.ok((await second.locator('.step[data-kind="rewrite"]').count()) === 1, "the rewrite is shown");
  assert.match(await second.locator(".turn-answer").innerText(), /2조 3,000억/);
  await screenshot(page, "ui-followup");

  // The thread is in the history, and the URL restores it.
  assert.equal(await page.locator(`#history a[href="#/t/${id}"]`).count(), 1);
  const again = await newPage(browser, { viewport: { width: 1280, height: 800 } });
  await again.goto(server.base + "/#/t/" + id);
  await again.locator("#thread .turn").nth(1).and(again.locator('[data-state="done"]')).waitFor();
  assert.match(await again.locator("#thread .turn").nth(1).locator(".turn-answer").innerText(), /2조 3,000억/);
  assert.ok((await again.locator("#thread .turn").nth(0).locator("button.chip").count()) >= 1);
  noProblems(page);
  noProblems(again);
});

test("a dropped file is uploaded with progress and then answers", async () => {
  const page = await open(server.base);
  const name = "zorblax-reactor.md";
  const content =
    "# Zorblax reactor\n\nThe Zorblax reactor was commissioned in 1987 at Kettering Fen. " +
    "It was built by the Fenland Power Board.\n";
  const dt = await page.evaluateHandle(
    ({ name, content }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], name, { type: "text/markdown" }));
      return dt;
    },
    { name, content },
  );
  await page.dispatchEvent("body", "dragenter", { dataTransfer: dt });
  await page.locator("#drop-overlay").waitFor({ state: "visible" });
  await page.dispatchEvent("body", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("body", "drop", { dataTransfer: dt });
  await page.locator("#drop-overlay").waitFor({ state: "hidden" });
  const item = page.locator('#uploads .upload-item[data-state="done"]');
  await item.waitFor();
  assert.match(await item.innerText(), /zorblax-reactor\.md/);
  assert.match(await item.innerText(), /added · \d+ chunks/);
  await screenshot(page, "ui-upload");

  // A large file (over the server's 1 MiB) is stored as a job; the page follows it to the end.
  const large = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    const text = "# Quorn mill\n\nThe Quorn mill grinds barley on Thursdays.\n\n" +
      "Filler sentence about nothing in particular. ".repeat(25000);
    dt.items.add(new File([text], "quorn-mill.md", { type: "text/markdown" }));
    return dt;
  });
  await page.dispatchEvent("body", "drop", { dataTransfer: large });
  const bigItem = page.locator("#uploads .upload-item", { hasText: "quorn-mill.md" });
  await bigItem.and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
  assert.match(await bigItem.innerText(), /added · \d+ chunks/);

  // A file of another kind is refused before it is sent.
  const bad = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["x"], "notes.exe"));
    return dt;
  });
  await page.dispatchEvent("body", "drop", { dataTransfer: bad });
  await page.locator('#uploads .upload-item[data-state="error"]').waitFor();

  const turn = await ask(page, "When was the Zorblax reactor commissioned?");
  assert.match(await turn.locator(".turn-answer").innerText(), /1987/);
  const chip = turn.locator(".turn-answer button.chip").first();
  await chip.hover();
  await page.locator("#popover").waitFor({ state: "visible" });
  assert.match(await page.locator("#popover .cite-card-from").innerText(), /zorblax-reactor\.md/);
  noProblems(page);
});

test("a related question asks a new turn in the same thread", async () => {
  const page = await open(server.base);
  const first = await ask(page, LIGHTHOUSE_Q);
  const id = threadIdOf(page);
  const related = first.locator("button.related").first();
  const question = (await related.innerText()).replace(/\s*\+$/, "").trim();
  await related.click();
  const second = page.locator("#thread .turn").nth(1);
  await second.and(page.locator('[data-state="done"], [data-state="error"]')).waitFor();
  assert.equal(await second.getAttribute("data-state"), "done");
  assert.equal(await second.locator(".turn-question").innerText(), question);
  assert.equal(threadIdOf(page), id);
  noProblems(page);
});

test("HTML and script from a source or a model never run", async () => {
  // A source whose text holds an <img onerror>.
  const page = await open(server.base);
  const turn = await ask(page, "When did the Quillon bridge open?");
  assert.match(await turn.locator(".turn-answer").innerText(), /1911/);
  const chips = turn.locator(".turn-answer button.chip");
  let found = false;
  for (let i = 0; i < (await chips.count()) && !found; i++) {
    await chips.nth(i).hover();
    await page.locator("#popover").waitFor({ state: "visible" });
    const snippet = await page.locator("#popover .cite-card-snippet").innerText();
    if (/onerror/.test(snippet)) {
      assert.match(snippet, /<img src=x onerror=/);
      found = true;
    }
  }
  assert.ok(found, "the snippet shows the markup as text");
  const sourceText = await turn.locator(".turn-sources").innerText();
  assert.ok(sourceText.length > 0);
  assert.equal(await page.locator("#thread img, #thread script, #popover img, #popover script").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  noProblems(page);

  // A model that answers with <script> and <img onerror>.
  const p2 = await open(replay.base);
  const t2 = await ask(p2, "When did the Quillon bridge open?");
  assert.equal(await t2.getAttribute("data-state"), "done");
  const answer = await t2.locator(".turn-answer").innerText();
  assert.match(answer, /<script>window.__pwned=2<\/script>/);
  assert.match(answer, /onerror=/);
  assert.ok((await t2.locator(".turn-answer button.chip").count()) >= 1);
  // Its sentences are not in the source: flagged, with the legend under the answer.
  assert.ok((await t2.locator(".turn-answer mark.unsupported").count()) >= 1);
  assert.equal(
    await t2.locator(".turn-answer mark.unsupported").first().getAttribute("title"),
    "Not found in the cited sources",
  );
  assert.match(await t2.locator(".turn-legend").innerText(), /not found in the sources/);
  await t2.locator(".turn-answer button.chip").first().hover();
  await p2.locator("#popover").waitFor({ state: "visible" });
  assert.match(await p2.locator("#popover .cite-card-snippet").innerText(), /onerror/);
  assert.equal(await p2.locator("#thread img, #thread script, #popover img, #popover script").count(), 0);
  assert.equal(await p2.evaluate(() => window.__pwned), undefined);
  await screenshot(p2, "ui-xss");
  noProblems(p2);
});

test("the model, sources and collection selectors", async () => {
  const page = await open(server.base);
  const models = (await (await fetch(server.base + "/v1/models")).json()).data.map((m) => m.id);
  const shown = await page.locator("#model option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(shown, models);
  assert.equal(await page.locator("#model").inputValue(), models[0]);
  const collections = (await (await fetch(server.base + "/v1/collections")).json()).collections.map(
    (c) => c.name,
  );
  assert.ok(collections.length >= 1);
  const listed = await page.locator("#collection option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(listed, collections);
  assert.deepEqual(
    await page.locator("#sources option").evaluateAll((os) => os.map((o) => o.value)),
    ["local", "web", "both"],
  );

  // No web backend is configured: the server's own message is shown.
  const r = await fetch(server.base + "/v1/ask", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: LIGHTHOUSE_Q, sources: "web" }),
  });
  const expected = (await r.json()).error.message;
  assert.ok(expected);
  await page.selectOption("#sources", "web");
  const turn = await ask(page, LIGHTHOUSE_Q);
  assert.equal(await turn.getAttribute("data-state"), "error");
  assert.ok((await turn.locator(".turn-error").innerText()).includes(expected));
  await screenshot(page, "ui-error");
  // The choice is remembered.
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#model option"));
  assert.equal(await page.locator("#sources").inputValue(), "web");
  // A non-2xx answer is logged by the browser as a failed resource load; that is expected.
  assert.deepEqual(page.problems.filter((p) => !/status of 4\d\d|status of 5\d\d/.test(p)), []);
});

test("keyboard, theme and language", async () => {
  const page = await open(server.base);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "q");
  await page.keyboard.type("first line");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("second");
  assert.equal(await page.locator("#q").inputValue(), "first line\nsecond");
  assert.equal(await page.locator("#thread .turn").count(), 0);
  await page.fill("#q", LIGHTHOUSE_Q);
  await page.keyboard.press("Enter");
  await page.locator('#thread .turn[data-state="done"]').waitFor();

  const before = await page.evaluate(() => document.documentElement.dataset.theme || "");
  await page.click("#theme-toggle");
  const after1 = await page.evaluate(() => document.documentElement.dataset.theme);
  assert.ok(after1 === "dark" || after1 === "light");
  assert.notEqual(after1, before);
  await page.click("#theme-toggle");
  assert.notEqual(await page.evaluate(() => document.documentElement.dataset.theme), after1);

  assert.match(await page.locator("#new-thread").innerText(), /New thread/);
  await page.click("#lang-toggle");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "ko");
  assert.match(await page.locator("#new-thread").innerText(), /새 스레드/);
  assert.equal(await page.locator("#q").getAttribute("placeholder"), "무엇이든 물어보세요…");
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#model option"));
  assert.equal(await page.evaluate(() => document.documentElement.lang), "ko");
  assert.match(await page.locator("#new-thread").innerText(), /새 스레드/);
  noProblems(page);
});

test("screenshots and page load", async () => {
  const shots = [];
  const light = await open(server.base, { colorScheme: "light" });
  await ask(light, LIGHTHOUSE_Q);
  await light.mouse.move(0, 0);
  shots.push([await screenshot(light, "ui-desktop-light"), "desktop 1280x800, light, a finished answer"]);

  const dark = await open(server.base, { colorScheme: "dark" });
  await ask(dark, LIGHTHOUSE_Q);
  await dark.mouse.move(0, 0);
  assert.equal(
    await dark.evaluate(() => getComputedStyle(document.body).backgroundColor),
    "rgb(21, 23, 26)",
  );
  shots.push([await screenshot(dark, "ui-desktop-dark"), "desktop 1280x800, dark, a finished answer"]);

  const phone = await open(server.base, {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  shots.push([await screenshot(phone, "ui-phone-home"), "phone 390x844, the home page"]);
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  await ask(phone, HANBIT_Q);
  assert.ok(
    await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    "no horizontal overflow at 390px",
  );
  assert.ok(await phone.locator("#menu-button").isVisible());
  assert.ok(!(await phone.locator("#sidebar").isVisible()));
  shots.push([await screenshot(phone, "ui-phone-answer"), "phone 390x844, a finished Korean answer"]);
  await phone.click("#menu-button");
  await phone.locator("#sidebar").waitFor({ state: "visible" });
  shots.push([await screenshot(phone, "ui-phone-menu"), "phone 390x844, the history drawer open"]);

  const fresh = await newPage(browser, { viewport: { width: 1280, height: 800 } });
  await fresh.goto(server.base + "/", { waitUntil: "load" });
  await fresh.waitForFunction(() => document.querySelector("#model option"));
  const load = await fresh.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bytes = resources.reduce((n, r) => n + (r.transferSize || 0), nav.transferSize || 0);
    return {
      domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
      loadMs: Math.round(nav.loadEventEnd),
      totalBytes: bytes,
      resources: [{ name: "/", bytes: nav.transferSize }].concat(
        resources.map((r) => ({ name: new URL(r.name).pathname, bytes: r.transferSize })),
      ),
    };
  });
  console.log("PAGE_LOAD " + JSON.stringify(load));
  for (const [file, what] of shots) console.log("SCREENSHOT " + file + " : " + what);
  assert.ok(load.loadMs > 0);
  for (const p of [light, dark, phone, fresh]) noProblems(p);
});
