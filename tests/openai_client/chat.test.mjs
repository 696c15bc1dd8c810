// Chaja's OpenAI-compatible API driven by the official `openai` npm client, unchanged, pointed at
// a real `chaja serve` through baseURL. Plain node, no framework: exits non-zero on any failure.
//
//   node tests/openai_client/chat.test.mjs CHAJA_BINARY SOURCE_DIR
//   (or CHAJA_BINARY=... CHAJA_SOURCE_DIR=... node tests/openai_client/chat.test.mjs)
//
// Needs tests/openai_client/node_modules (`npm ci --prefix tests/openai_client`, which
// scripts/test runs when it is missing).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

let OpenAI, APIError;
try {
  ({ default: OpenAI, APIError } = await import("openai"));
} catch (e) {
  console.error(
    "FAIL: the openai package is missing; run `npm ci --prefix tests/openai_client` " +
      `(scripts/test does it): ${e.message}`,
  );
  process.exit(1);
}

const binary = process.argv[2] ?? process.env.CHAJA_BINARY;
const sourceDir = process.argv[3] ?? process.env.CHAJA_SOURCE_DIR;
if (!binary || !sourceDir) {
  console.error("usage: node chat.test.mjs CHAJA_BINARY SOURCE_DIR");
  process.exit(2);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "chaja-openai-"));
let server = null;
let serverLog = "";

function cleanup() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    cleanup();
    process.exit(1);
  });

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`chaja serve exited early:\n${serverLog}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`chaja serve did not answer /healthz in ${ms} ms:\n${serverLog}`);
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

const question = "한빛반도체의 대표이사는 누구인가요?";

try {
  const index = spawnSync(binary, ["index", path.join(sourceDir, "docs/sample"), "--data", dataDir], {
    encoding: "utf8",
  });
  if (index.status !== 0)
    throw new Error(`chaja index failed (${index.status}): ${index.stderr}${index.stdout}`);

  const port = await freePort();
  server = spawn(binary, ["serve", "--port", String(port), "--data", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(base, 20000);

  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60000 });

  await check("(a) plain completion with citations and search_results", async () => {
    const c = await client.chat.completions.create({
      model: "chaja",
      messages: [{ role: "user", content: question }],
    });
    assert.equal(c.object, "chat.completion");
    assert.match(c.id, /^chatcmpl-[0-9a-f]+$/);
    assert.equal(c.choices[0].message.role, "assistant");
    assert.equal(c.choices[0].finish_reason, "stop");
    assert.ok(c.choices[0].message.content.includes("박서연"), c.choices[0].message.content);
    assert.ok(Array.isArray(c.citations) && c.citations.length > 0, "citations");
    for (const s of c.citations) assert.equal(typeof s, "string");
    assert.ok(Array.isArray(c.search_results) && c.search_results.length === c.citations.length);
    for (const r of c.search_results) {
      assert.equal(typeof r.title, "string");
      assert.equal(typeof r.url, "string");
      assert.ok("snippet" in r && "date" in r);
    }
    assert.equal(c.model, "extractive");
    assert.equal(typeof c.usage.total_tokens, "number");
  });

  await check("(b) streamed completion", async () => {
    const stream = await client.chat.completions.create({
      model: "chaja",
      messages: [{ role: "user", content: question }],
      stream: true,
    });
    let text = "";
    let chunks = 0;
    let last = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunks === 0) assert.equal(chunk.choices[0].delta.role, "assistant");
      text += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
      last = chunk;
    }
    assert.ok(text.length > 0, "no text streamed");
    assert.match(text, /\[\d+\]/, "no [n] marker");
    assert.ok(text.includes("박서연"), text);
    assert.equal(last.choices[0].finish_reason, "stop");
    assert.ok(Array.isArray(last.citations) && last.citations.length > 0, "final citations");
    assert.ok(Array.isArray(last.search_results) && last.search_results.length > 0);
    // Every marker points into the citation list.
    for (const m of text.matchAll(/\[(\d+)\]/g))
      assert.ok(Number(m[1]) >= 1 && Number(m[1]) <= last.citations.length, m[0]);
  });

  await check("(c) models.list contains chaja", async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes("chaja"), JSON.stringify(ids));
    assert.ok(ids.includes("extractive"), JSON.stringify(ids));
  });

  await check("(d) a two-turn conversation", async () => {
    const first = await client.chat.completions.create({
      model: "chaja",
      messages: [{ role: "user", content: question }],
    });
    const c = await client.chat.completions.create({
      model: "chaja",
      messages: [
        { role: "system", content: "Answer with citations." },
        { role: "user", content: question },
        { role: "assistant", content: first.choices[0].message.content },
        { role: "user", content: [{ type: "text", text: "한빛반도체의 본사는 어디에 있나요?" }] },
      ],
    });
    assert.ok(c.choices[0].message.content.length > 0);
    assert.ok(c.citations.length > 0);
  });

  await check("(e) an unknown model is an APIError", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "nope:x", messages: [{ role: "user", content: question }] }),
      (e) => {
        assert.ok(e instanceof APIError, `not an APIError: ${e}`);
        assert.ok([400, 503].includes(e.status), `status ${e.status}`);
        assert.equal(typeof e.error?.message, "string");
        assert.equal(typeof e.error?.type, "string");
        return true;
      },
    );
    // The same when streaming: the error comes before any chunk, as a plain JSON error.
    await assert.rejects(
      client.chat.completions.create({ model: "nope:x", stream: true, messages: [{ role: "user", content: question }] }),
      (e) => e instanceof APIError && [400, 503].includes(e.status),
    );
    // A request the server refuses names the field.
    await assert.rejects(
      client.chat.completions.create({ model: "chaja", messages: [{ role: "assistant", content: "hi" }] }),
      (e) => e instanceof APIError && e.status === 400 && /user message/.test(e.message),
    );
  });
} catch (e) {
  results.push({ name: "setup", ok: false });
  console.log(`FAIL setup: ${e.stack ?? e}`);
}

// process.exit: the server's pipes would otherwise keep node waiting; the exit handler kills it.
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) {
  if (serverLog) console.log(`--- chaja serve log ---\n${serverLog}`);
  console.log(`${failed.length} of ${results.length} failed`);
  process.exit(1);
}
console.log(`all ${results.length} passed`);
process.exit(0);
