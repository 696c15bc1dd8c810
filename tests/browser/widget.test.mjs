// The embeddable widget (web/src/widget.js, docs/widget.md) on host pages of other origins:
// a real `chaja serve` with an API key limited to one collection and one origin, answers
// streamed by a replayed model, CORS refusals, host CSS and globals, a phone-sized screen, and
// the SSE reader fed a stream cut into pieces of a few bytes by a fake server.
//
//   CHAJA_BINARY=build/chaja CHAJA_SOURCE_DIR=. node --test tests/browser/widget.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  chaja,
  cleanupAll,
  launchBrowser,
  newPage,
  screenshot,
  sourceDir,
  startReplayModel,
  startServer,
  startSite,
  tempDir,
} from "./harness.mjs";

const QUESTION = "When was the Greywick Point lighthouse first lit?";
const FOLLOW_UP = "When was the Greywick Point lighthouse automated?";
const SECRET = "The Quillfeather retention bonus for 2024 is 7,431 euros per engineer.";

// An OpenAI-compatible model, slow enough that the answer is seen growing: it cites the source
// that holds the fact it states, found in the <source n="..."> blocks of the prompt.
async function startSlowModel() {
  const answerFor = (request) => {
    const messages = request.messages || [];
    const system = String((messages.find((m) => m.role === "system") || {}).content || "");
    const last = String((messages[messages.length - 1] || {}).content || "");
    if (/follow-up questions/i.test(system))
      return `Who designed the Greywick Point lighthouse?\n${FOLLOW_UP}\nHow tall is the Greywick Point lighthouse?`;
    if (/standalone search query/i.test(system)) return FOLLOW_UP;
    if (!system.includes("<source n=")) return last.split("\n").pop();  // a search plan: the question
    const cite = (fact) => {
      for (const m of system.matchAll(/<source n="(\d+)"[^>]*>([\s\S]*?)<\/source>/g))
        if (m[2].replace(/\s+/g, " ").includes(fact)) return `[${m[1]}]`;
      return "";
    };
    if (/automated/i.test(last))
      return `The light was **automated in 1968** ${cite("automated in 1968")}, and the last keeper left that autumn.`;
    return (
      `The Greywick Point lighthouse was first lit on **14 October 1873** ${cite("14 October 1873")}. ` +
      `Construction had begun in April 1871, to plans by the engineer Margaret Ellory.`
    );
  };
  return startReplayModel(answerFor, { chunk: 6, delayMs: 25, id: "slow" });
}

const widgetTag = (base, attrs) =>
  `<script src="${base}/widget.js" ${Object.entries(attrs)
    .map(([k, v]) => `data-${k}="${v}"`)
    .join(" ")}></script>`;

const favicon = { type: "image/svg+xml", body: '<svg xmlns="http://www.w3.org/2000/svg"/>' };
const hostPage = (body, head = "") => ({
  body: () =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme intranet</title>${head}</head>` +
    `<body><h1>Acme intranet</h1><p>Welcome to the handbook.</p>${body()}</body></html>`,
});
// startSite's routes take a body string; these pages need the server's address, known later.
const lazy = (page) => (req, res) => {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(page.body());
};

let browser, server, host, stranger, key, dataDir;

before(async () => {
  dataDir = tempDir();
  chaja(["index", path.join(sourceDir, "docs/sample"), "--collection", "docs"], { dataDir });
  const hrDir = tempDir("chaja-hr-");
  const secretFile = path.join(hrDir, "quillfeather-bonus.txt");
  fs.writeFileSync(secretFile, `Quillfeather compensation\n\n${SECRET}\n`);
  chaja(["index", secretFile, "--collection", "hr"], { dataDir });

  const tag = (extra = {}) => () =>
    widgetTag(server.base, { token: key, title: "Acme Help", color: "#0a7d55", collection: "docs", ...extra });
  host = await startSite({
    "/favicon.ico": favicon,
    "/": lazy(hostPage(() => `<script>window.hostValue = 42;</script>` + tag()())),
    "/hr": lazy(hostPage(tag({ collection: "hr", title: "HR" }))),
    "/hostile": lazy(
      hostPage(
        tag(),
        `<style>* { color: red !important; font-size: 40px !important; font-family: serif !important;
           padding: 30px !important; letter-spacing: 5px !important; }
         button { display: none !important; } div { border: 5px solid orange !important; }
         html { font-size: 8px !important; }</style>`,
      ),
    ),
  });
  stranger = await startSite({ "/favicon.ico": favicon, "/": lazy(hostPage(tag())) });

  const made = chaja(
    ["keys", "create", "--role", "reader", "--collections", "docs", "--origins", host.base, "--json"],
    { dataDir },
  );
  key = JSON.parse(made.stdout).key;
  assert.ok(key, "keys create --json prints the key");

  const model = await startSlowModel();
  const config = path.join(dataDir, "config.json");
  fs.writeFileSync(config, JSON.stringify({ default_model: "openai-compat:slow" }));
  server = await startServer({
    dataDir,
    args: ["--config", config],
    env: { OPENAI_COMPAT_BASE_URL: model.base },
  });
  browser = await launchBrowser();
});

after(cleanupAll);

// The widget's shadow root, for reading what the page's CSS selectors cannot reach.
const inShadow = (page, selector, fn) =>
  page.evaluate(
    ([selector, fn]) => {
      const root = document.querySelector("chaja-widget").shadowRoot;
      return new Function("e", "getComputedStyle", "return (" + fn + ")(e)")(
        root.querySelector(selector),
        getComputedStyle,
      );
    },
    [selector, fn.toString()],
  );

async function ask(page, question) {
  const input = page.locator("chaja-widget textarea");
  await input.fill(question);
  await input.press("Enter");
}

const lastAnswer = (page) => page.locator("chaja-widget .msg.assistant").last();
// An assistant message that is no longer streaming (data-state "done" or "error").

test("the answer streams in with its citations; a chip shows its source's card", async () => {
  const page = await newPage(browser);
  await page.goto(host.base + "/");
  const bubble = page.locator("chaja-widget .bubble");
  await bubble.waitFor();
  assert.equal(await bubble.getAttribute("aria-label"), "Open chat");
  assert.equal(await page.locator("chaja-widget .panel").isVisible(), false);
  await bubble.click();
  await page.locator("chaja-widget .panel").waitFor();
  assert.equal(await bubble.getAttribute("aria-expanded"), "true");
  assert.equal(await page.locator("chaja-widget .title").textContent(), "Acme Help");
  assert.equal(await page.locator("chaja-widget .footer").textContent(), "Powered by Chaja");

  // Shift+Enter is a new line, not a question.
  const input = page.locator("chaja-widget textarea");
  await input.fill("draft");
  await input.press("Shift+Enter");
  assert.equal(await input.inputValue(), "draft\n");
  assert.equal(await page.locator("chaja-widget .msg.user").count(), 0);

  // Every rendering of the growing answer, as the user sees it.
  await page.evaluate(() => {
    const root = document.querySelector("chaja-widget").shadowRoot;
    window.__seen = [];
    new MutationObserver(() => {
      const a = root.querySelector(".msg.assistant .answer");
      if (a && !root.querySelector(".msg.assistant .sources")) window.__seen.push(a.textContent);
    }).observe(root.querySelector(".messages"), { subtree: true, childList: true, characterData: true });
  });
  const requests = [];
  page.on("request", (r) => r.url().endsWith("/v1/ask") && requests.push(r));
  await ask(page, QUESTION);
  assert.equal(await input.inputValue(), "");
  await page.locator("chaja-widget .msg.user").filter({ hasText: QUESTION }).waitFor();
  const answer = lastAnswer(page);
  await answer.locator(".sources").waitFor({ timeout: 20_000 });

  const seen = [...new Set(await page.evaluate(() => window.__seen))].filter((s) => s.length);
  assert.ok(seen.length >= 3, "the answer is shown growing: " + JSON.stringify(seen));
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i].length >= seen[i - 1].length, "it only grows: " + JSON.stringify(seen));
  assert.ok(seen[0].length < seen[seen.length - 1].length);

  const text = await answer.locator(".answer").textContent();
  assert.match(text, /1873/);
  assert.equal(await answer.locator(".answer strong").first().textContent(), "14 October 1873");
  const chip = answer.locator(".answer .chip").first();
  assert.equal(await chip.getAttribute("data-n"), "1");
  assert.equal(await chip.textContent(), "1");
  assert.doesNotMatch(text, /\[1\]/, "the marker became a chip");
  assert.match(await answer.locator(".sources li").first().textContent(), /greywick-lighthouse\.md/);

  // The request: key, collection, streaming; no thread yet.
  const request = requests[0];
  assert.equal(request.method(), "POST");
  assert.equal((await request.allHeaders()).authorization, "Bearer " + key);
  const body = JSON.parse(request.postData());
  assert.deepEqual(body, { query: QUESTION, stream: true, collection: "docs" });

  await chip.hover();
  const card = page.locator("chaja-widget .popover .cite-card");
  await card.waitFor();
  assert.match(await card.locator(".cite-card-title").textContent(), /Greywick/);
  assert.match(await card.locator(".cite-card-from").textContent(), /greywick-lighthouse\.md/);
  assert.match(await card.locator(".cite-card-snippet").textContent(), /lighthouse|tower|Ellory/i);
  // The card is inside the panel, not off screen.
  const box = await card.boundingBox();
  const panelBox = await page.locator("chaja-widget .panel").boundingBox();
  assert.ok(box.x >= panelBox.x && box.x + box.width <= panelBox.x + panelBox.width + 1);
  console.log("screenshot:", await screenshot(page, "widget-answer"));

  // A local document's chip pins its card on click (there is no page to open).
  await page.mouse.move(0, 0);
  await card.waitFor({ state: "hidden" });
  await chip.click();
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  assert.equal(await card.isVisible(), true, "a click pins the card");
  await page.keyboard.press("Escape");
  await card.waitFor({ state: "hidden" });

  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("a follow-up continues the thread; a reload keeps the chat; New chat clears it", async () => {
  const page = await newPage(browser);
  const bodies = [];
  page.on("request", (r) => r.url().endsWith("/v1/ask") && bodies.push(JSON.parse(r.postData())));
  await page.goto(host.base + "/");
  await page.locator("chaja-widget .bubble").click();
  await ask(page, QUESTION);
  await lastAnswer(page).locator(".sources").waitFor({ timeout: 20_000 });

  await ask(page, FOLLOW_UP);
  await page.locator("chaja-widget .msg.assistant").nth(1).locator(".sources").waitFor({ timeout: 20_000 });
  assert.match(await lastAnswer(page).locator(".answer").textContent(), /1968/);
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0].thread_id, undefined);
  assert.match(bodies[1].thread_id || "", /^[0-9a-f]{32}$/, "the follow-up names the thread");
  assert.equal(bodies[1].query, FOLLOW_UP);

  const r = await fetch(`${server.base}/v1/threads/${bodies[1].thread_id}`, {
    headers: { Authorization: "Bearer " + key },
  });
  assert.equal(r.status, 200);
  const thread = await r.json();
  assert.equal(thread.turn_count, 2);
  assert.deepEqual(
    thread.turns.map((t) => t.question),
    [QUESTION, FOLLOW_UP],
  );

  // A reload keeps the conversation (sessionStorage) and continues the same thread.
  await page.reload();
  await page.locator("chaja-widget .bubble").click();
  assert.equal(await page.locator("chaja-widget .msg.user").count(), 2);
  assert.equal(await page.locator("chaja-widget .msg.assistant .chip").count() >= 2, true);
  const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
  assert.ok(!stored.includes(key), "the token is not stored");
  // The newest answer's related questions are buttons that ask, in the same thread.
  const related = lastAnswer(page).locator(".related button").first();
  const relatedQuestion = await related.textContent();
  assert.ok(relatedQuestion.length > 0);
  await related.click();
  await page.locator("chaja-widget .msg.user").nth(2).filter({ hasText: relatedQuestion }).waitFor();
  const finished = page.locator('chaja-widget .msg.assistant:is([data-state="done"], [data-state="error"])');
  await finished.nth(2).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator("chaja-widget .msg.assistant").nth(2).getAttribute("data-state"), "done");
  assert.equal(bodies[2].query, relatedQuestion);
  assert.equal(bodies[2].thread_id, bodies[1].thread_id);

  // New chat: an empty conversation and a new thread.
  await page.locator("chaja-widget .new-chat").click();
  assert.equal(await page.locator("chaja-widget .msg.user").count(), 0);
  assert.equal(await page.locator("chaja-widget .msg.welcome").count(), 1);
  await ask(page, QUESTION);
  await lastAnswer(page).locator(".sources").waitFor({ timeout: 20_000 });
  assert.equal(bodies[3].thread_id, undefined);

  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("title and colour apply; the host page's CSS and globals do not mix with the widget's", async () => {
  const styleOf = async (page) => ({
    bubble: await inShadow(page, ".bubble", (e) => {
      const s = getComputedStyle(e);
      return { bg: s.backgroundColor, width: s.width, height: s.height, display: s.display, radius: s.borderTopLeftRadius };
    }),
    title: await inShadow(page, ".title", (e) => {
      const s = getComputedStyle(e);
      return { text: e.textContent, color: s.color, size: s.fontSize, family: s.fontFamily, spacing: s.letterSpacing };
    }),
    welcome: await inShadow(page, ".msg.welcome", (e) => {
      const s = getComputedStyle(e);
      return { color: s.color, size: s.fontSize, padding: s.paddingTop, border: s.borderTopColor };
    }),
    send: await inShadow(page, ".send", (e) => getComputedStyle(e).display),
    panel: await inShadow(page, ".panel", (e) => e.getBoundingClientRect().toJSON()),
  });

  const plain = await newPage(browser);
  await plain.goto(host.base + "/");
  await plain.locator("chaja-widget .bubble").click();
  const expected = await styleOf(plain);
  assert.equal(expected.bubble.bg, "rgb(10, 125, 85)", "data-color is the accent");
  assert.equal(expected.bubble.width, "56px");
  assert.equal(expected.bubble.radius, "50%");
  assert.equal(expected.title.text, "Acme Help");
  assert.equal(expected.title.color, "rgb(255, 255, 255)");
  assert.equal(expected.title.size, "15px");
  assert.equal(expected.welcome.size, "14px");
  assert.equal(expected.welcome.color, "rgb(66, 74, 83)");
  assert.equal(expected.panel.width, 380);
  assert.equal(expected.panel.height, 560);

  // The host's globals: its own are intact, the bundle's are not there.
  const globals = await plain.evaluate(() => ({
    hostValue: window.hostValue,
    marked: typeof window.marked,
    ChajaRender: typeof window.ChajaRender,
    module: typeof window.module,
    exports: typeof window.exports,
    widget: Object.keys(window.ChajaWidget || {}).sort(),
  }));
  assert.deepEqual(globals, {
    hostValue: 42,
    marked: "undefined",
    ChajaRender: "undefined",
    module: "undefined",
    exports: "undefined",
    widget: ["ask", "close", "newChat", "open", "toggle"],
  });
  // window.ChajaWidget works.
  await plain.evaluate(() => window.ChajaWidget.close());
  assert.equal(await plain.locator("chaja-widget .panel").isVisible(), false);
  await plain.evaluate(() => window.ChajaWidget.open());
  assert.equal(await plain.locator("chaja-widget .panel").isVisible(), true);

  // A page whose CSS shouts at every element: the widget looks the same.
  const hostile = await newPage(browser);
  await hostile.goto(host.base + "/hostile");
  assert.equal(
    await hostile.locator("h1").evaluate((e) => getComputedStyle(e).color),
    "rgb(255, 0, 0)",
    "the host's CSS applies to the host",
  );
  await hostile.locator("chaja-widget .bubble").click();
  assert.deepEqual(await styleOf(hostile), expected);
  console.log("screenshot:", await screenshot(hostile, "widget-hostile-css"));

  assert.deepEqual(plain.problems, []);
  assert.deepEqual(hostile.problems, []);
  await plain.context().close();
  await hostile.context().close();
});

test("a page of an origin the key does not allow is refused, with no answer", async () => {
  const page = await newPage(browser);
  await page.goto(stranger.base + "/");
  await page.locator("chaja-widget .bubble").click();
  await ask(page, QUESTION);
  const error = lastAnswer(page).locator(".error");
  await error.waitFor({ timeout: 20_000 });
  assert.match(await error.textContent(), /Cannot reach the server/);
  assert.equal(await lastAnswer(page).locator(".answer").textContent(), "");
  assert.doesNotMatch(await page.locator("chaja-widget .messages").textContent(), /1873/);
  console.log("screenshot:", await screenshot(page, "widget-cors-refused"));

  // From node (no browser), the server itself refuses that origin.
  const r = await fetch(server.base + "/v1/ask", {
    method: "POST",
    headers: { Origin: stranger.base, Authorization: "Bearer " + key, "Content-Type": "application/json" },
    body: JSON.stringify({ query: QUESTION, collection: "docs" }),
  });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  // Its preflight is not allowed either.
  const pre = await fetch(server.base + "/v1/ask", {
    method: "OPTIONS",
    headers: {
      Origin: stranger.base,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type",
    },
  });
  assert.equal(pre.headers.get("access-control-allow-origin"), null);

  // The browser logs the CORS refusal; nothing else may go wrong.
  const cors = /CORS|Access-Control|Failed to load resource|net::ERR_FAILED/i;
  assert.deepEqual(page.problems.filter((p) => !cors.test(p)), []);
  await page.context().close();
});

test("a collection the key may not read is refused, never answered", async () => {
  const page = await newPage(browser);
  await page.goto(host.base + "/hr");
  await page.locator("chaja-widget .bubble").click();
  await ask(page, "What is the Quillfeather retention bonus for 2024?");
  const error = lastAnswer(page).locator(".error");
  await error.waitFor({ timeout: 20_000 });
  assert.ok((await error.textContent()).trim().length > 0);
  assert.equal(await lastAnswer(page).locator(".answer").textContent(), "");
  assert.doesNotMatch(await page.locator("body").textContent(), /7,431|Quillfeather retention/);
  const shadowText = await page.evaluate(() => document.querySelector("chaja-widget").shadowRoot.textContent);
  assert.doesNotMatch(shadowText, /7,431/);

  // The same from node: 403 or 404, and no secret.
  const r = await fetch(server.base + "/v1/ask", {
    method: "POST",
    headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
    body: JSON.stringify({ query: "Quillfeather retention bonus", collection: "hr" }),
  });
  assert.ok(r.status === 403 || r.status === 404, "status " + r.status);
  assert.doesNotMatch(await r.text(), /7,431/);
  // The browser logs the failed request (a 4xx); nothing else may go wrong.
  assert.deepEqual(page.problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await page.context().close();
});

test("on a phone the panel fills the screen", async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  await page.goto(host.base + "/");
  await page.locator("chaja-widget .bubble").click();
  const panel = page.locator("chaja-widget .panel");
  await panel.waitFor();
  const box = await panel.boundingBox();
  assert.deepEqual(
    [box.x, box.y, box.width, box.height].map(Math.round),
    [0, 0, 390, 844],
  );
  assert.equal(await page.locator("chaja-widget .bubble").isVisible(), false, "the panel covers the bubble");
  await ask(page, QUESTION);
  await lastAnswer(page).locator(".sources").waitFor({ timeout: 20_000 });
  console.log("screenshot:", await screenshot(page, "widget-phone"));
  await page.locator("chaja-widget .header .close").click();
  assert.equal(await panel.isVisible(), false);
  assert.equal(await page.locator("chaja-widget .bubble").isVisible(), true);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// A fake Chaja that sends the SSE stream in pieces of 1 to 3 bytes: lines, "\r\n" pairs and
// UTF-8 characters are cut anywhere. Also: an error event mid-answer, and a 401.
test("the stream reader copes with any chunking; errors and a refused token are shown", async () => {
  const citation = {
    n: 1,
    kind: "web",
    doc_id: null,
    title: "달빛포구 안내",
    source: "https://festival.example.com/guide",
    url: "https://festival.example.com/guide",
    domain: "festival.example.com",
    snippet: "축제는 9월에 열린다.",
  };
  const answer = "축제는 **9월**에 열립니다 [1]. <img src=x onerror=\"window.pwned=1\"> 끝.";
  const events = [
    ": keep-alive\r\n\r\n",
    'event: step\r\ndata: {"kind":"search","text":"달빛포구"}\r\n\r\n',
    `event: sources\ndata: ${JSON.stringify({ citations: [citation] })}\n\n`,
    `event: citation\ndata: ${JSON.stringify(citation)}\n\n`,
    `event: delta\ndata: ${JSON.stringify({ text: answer.slice(0, 17) })}\n\n`,
    ": keep-alive\n\n",
    `event: delta\r\ndata: ${JSON.stringify({ text: answer.slice(17) })}\r\n\r\n`,
    `event: related\ndata: ${JSON.stringify({ related_questions: ["입장료가 있나요?"] })}\n\n`,
    `event: done\ndata: ${JSON.stringify({
      answer,
      citations: [citation],
      related_questions: ["입장료가 있나요?"],
      thread_id: "0123456789abcdef0123456789abcdef",
      claims: [],
    })}\n\n`,
  ].join("");
  const cors = (req, res) => {
    res.setHeader("Access-Control-Allow-Origin", req.headers.origin || "*");
    res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.setHeader("Access-Control-Allow-Methods", "POST");
  };
  const fake = await startSite({
    "/v1/ask": (req, res) => {
      cors(req, res);
      if (req.method === "OPTIONS") {
        res.writeHead(204);
        return res.end();
      }
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const { query } = JSON.parse(body);
        if (query.includes("401")) {
          res.writeHead(401, { "Content-Type": "application/json" });
          return res.end(JSON.stringify({ error: { type: "unauthorized", message: "unknown key" } }));
        }
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        if (query.includes("broken")) {
          res.write(`event: delta\ndata: {"text":"Half an ans"}\n\n`);
          return res.end(`event: error\ndata: {"error":{"type":"upstream_error","message":"the model went away"}}\n\n`);
        }
        const bytes = Buffer.from(events, "utf8");
        for (let i = 0, step = 1; i < bytes.length; i += step, step = (step % 3) + 1) {
          res.write(bytes.subarray(i, i + step));
          if (i % 40 < 3) await new Promise((r) => setTimeout(r, 1));
        }
        res.end();
      });
    },
  });
  const site = await startSite({
    "/favicon.ico": favicon,
    "/": lazy(
      hostPage(() =>
        widgetTag(server.base, { server: fake.base, token: "t0ken", lang: "ko", open: "true", color: "not-a-colour" }),
      ),
    ),
  });
  const page = await newPage(browser);
  await page.context().route("https://festival.example.com/**", (route) =>
    route.fulfill({ contentType: "text/html", body: "<title>festival</title>ok" }),
  );
  await page.goto(site.base + "/");
  await page.locator("chaja-widget .panel").waitFor();  // data-open="true"
  assert.equal(await inShadow(page, ".bubble", (e) => getComputedStyle(e).backgroundColor), "rgb(47, 111, 222)");
  assert.equal(await page.locator("chaja-widget .title").textContent(), "Chaja");
  assert.equal(await page.locator("chaja-widget textarea").getAttribute("placeholder"), "질문을 입력하세요…");

  await ask(page, "달빛포구 축제는 언제?");
  const a = lastAnswer(page);
  await a.locator(".sources").waitFor({ timeout: 10_000 });
  assert.equal(
    await a.locator(".answer").textContent(),
    '축제는 9월에 열립니다 1. <img src=x onerror="window.pwned=1"> 끝.',
  );
  assert.equal(await a.locator(".answer img").count(), 0, "raw HTML stays text");
  assert.equal(await a.locator(".answer strong").textContent(), "9월");
  assert.equal(await a.locator(".sources a").getAttribute("href"), citation.url);
  assert.match(await a.locator(".sources li").textContent(), /달빛포구 안내.*festival\.example\.com/);
  assert.equal(await a.locator(".related button").textContent(), "입장료가 있나요?");
  // A web source's chip opens it in a new tab.
  const [popup] = await Promise.all([page.context().waitForEvent("page"), a.locator(".chip").click()]);
  await popup.waitForLoadState();
  assert.equal(popup.url(), citation.url);
  await popup.close();

  await ask(page, "broken stream");
  await lastAnswer(page).locator(".error").waitFor();
  assert.match(await lastAnswer(page).locator(".error").textContent(), /문제가 생겼습니다.*the model went away/);
  assert.equal(await lastAnswer(page).locator(".answer").textContent(), "Half an ans");

  await ask(page, "401 please");
  await lastAnswer(page).locator(".error").waitFor();
  assert.match(await lastAnswer(page).locator(".error").textContent(), /서버가 이 위젯의 토큰을 받아들이지 않습니다/);

  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.deepEqual(page.problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await page.context().close();
});
