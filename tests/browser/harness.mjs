// The browser tests' harness: a real `chaja serve` on 127.0.0.1, Debian's chromium driven by
// playwright-core, local sites on other ports (another origin, a replayed model), screenshots.
//
//   CHAJA_BINARY=build/chaja CHAJA_SOURCE_DIR=. node --test tests/browser/ui.test.mjs
//
// Screenshots go to $CHAJA_ARTIFACTS (ctest sets build/tests/browser-artifacts).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

export const binary = process.env.CHAJA_BINARY;
export const sourceDir = process.env.CHAJA_SOURCE_DIR;
export const artifactsDir =
  process.env.CHAJA_ARTIFACTS || path.join(os.tmpdir(), "chaja-browser-artifacts");
if (!binary || !sourceDir) throw new Error("set CHAJA_BINARY and CHAJA_SOURCE_DIR");
fs.mkdirSync(artifactsDir, { recursive: true });

const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}
export async function cleanupAll() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      console.error("cleanup:", e.message);
    }
  }
}
process.on("exit", () => {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {}
  }
});

export function tempDir(prefix = "chaja-browser-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Runs the chaja CLI to completion; throws with its output when it fails.
export function chaja(args, { dataDir, env = {}, allowFail = false } = {}) {
  const r = spawnSync(binary, [...args, ...(dataDir ? ["--data", dataDir] : [])], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  if (!allowFail && r.status !== 0)
    throw new Error(`chaja ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

// `chaja serve --port 0` in dataDir; resolves once /healthz answers. Returns { base, stop, log }.
export async function startServer({ dataDir, args = [], env = {} }) {
  const proc = spawn(binary, ["serve", "--port", "0", "--data", dataDir, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  };
  onCleanup(stop);
  const deadline = Date.now() + 20_000;
  let base = null;
  while (Date.now() < deadline) {
    const m = /serving (http:\/\/[^/\s]+)\//.exec(out);
    if (m) {
      base = m[1];
      try {
        const r = await fetch(base + "/healthz");
        if (r.ok) break;
      } catch {}
    }
    if (proc.exitCode !== null) throw new Error("chaja serve exited:\n" + out);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!base) throw new Error("chaja serve did not start:\n" + out);
  return { base, stop, log: () => out };
}

// A local site on its own port (another origin): `routes` maps a path to
// { type, body } or to a function (req, res) => void.
export async function startSite(routes) {
  const server = http.createServer((req, res) => {
    const route = routes[new URL(req.url, "http://x").pathname];
    if (typeof route === "function") return route(req, res);
    if (!route) {
      res.writeHead(404);
      return res.end("not found");
    }
    res.writeHead(200, { "Content-Type": route.type || "text/html; charset=utf-8" });
    res.end(route.body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise((resolve) => server.close(() => resolve())));
  server.closeAllConnections && onCleanup(() => server.closeAllConnections());
  return { base: `http://127.0.0.1:${server.address().port}`, server };
}

// An OpenAI-compatible model that streams textFor(request) as chat.completion.chunk frames,
// `chunk` characters every `delayMs`, for every chat call (the answer, and any helper call).
export async function startReplayModel(textFor, { chunk = 12, delayMs = 5, id = "replay" } = {}) {
  return startSite({
    "/v1/chat/completions": (req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const request = JSON.parse(body || "{}");
        const text = textFor(request);
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        const frame = (delta, finish = null) =>
          "data: " +
          JSON.stringify({
            id: "chatcmpl-replay",
            object: "chat.completion.chunk",
            created: 1700000000,
            model: request.model || id,
            choices: [{ index: 0, delta, finish_reason: finish }],
          }) +
          "\n\n";
        res.write(frame({ role: "assistant", content: "" }));
        for (let i = 0; i < text.length; i += chunk) {
          res.write(frame({ content: text.slice(i, i + chunk) }));
          await new Promise((r) => setTimeout(r, delayMs));
        }
        res.write(frame({}, "stop"));
        res.end("data: [DONE]\n\n");
      });
    },
    "/v1/models": {
      type: "application/json",
      body: JSON.stringify({ object: "list", data: [{ id, object: "model" }] }),
    },
  });
}

let playwright = null;
export async function launchBrowser() {
  if (!playwright) {
    try {
      playwright = await import("playwright-core");
    } catch (e) {
      throw new Error(
        "playwright-core is missing: run `npm ci --prefix tests/browser` (scripts/test does it): " +
          e.message,
      );
    }
  }
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(executablePath))
    throw new Error(`${executablePath} not found: install Debian's chromium (scripts/setup does)`);
  const browser = await playwright.chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],  // playwright gives each launch a fresh, empty profile of its own
  });
  onCleanup(() => browser.close());
  return browser;
}

// A page that records its console errors and uncaught exceptions (tests assert there are none).
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ locale: "en-US", ...options });
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push("pageerror: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push("console: " + m.text());
  });
  return page;
}

export async function screenshot(page, name) {
  const file = path.join(artifactsDir, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
