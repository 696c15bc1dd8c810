// app.js: the page served at "/". Bundled after render.js (ChajaRender) and i18n.js (I18N),
// inside one function, so nothing here is a global.
//
// Everything from the server or a model goes into the page as text nodes or through
// ChajaRender (which builds elements with textContent): never innerHTML.

const $ = (id) => document.getElementById(id);
const el = ChajaRender.el;
const store = {
  get(k, fallback = null) {
    try {
      const v = localStorage.getItem("chaja." + k);
      return v === null ? fallback : v;
    } catch (e) {
      return fallback;
    }
  },
  set(k, v) {
    try {
      if (v === null || v === undefined) localStorage.removeItem("chaja." + k);
      else localStorage.setItem("chaja." + k, v);
    } catch (e) {}
  },
};

// ---------------------------------------------------------------------------------------------
// Language

let lang = store.get("lang") || ((navigator.language || "").toLowerCase().startsWith("ko") ? "ko" : "en");
if (!I18N[lang]) lang = "en";

function t(key, n) {
  let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
  if (n !== undefined) s = s.replace("{n}", String(n));
  return s;
}

// An element whose text is an interface string, kept up to date when the language switches.
function label(tag, className, key, n) {
  const e = el(tag, className, t(key, n));
  e.dataset.i18n = key;
  if (n !== undefined) e.dataset.i18nN = String(n);
  return e;
}

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll("[data-i18n]"))
    e.textContent = t(e.dataset.i18n, e.dataset.i18nN);
  for (const attr of ["placeholder", "title", "aria-label"]) {
    const key = "i18n" + attr.replace(/(^|-)([a-z])/g, (m, d, c) => c.toUpperCase());
    for (const e of document.querySelectorAll(`[data-i18n-${attr}]`))
      e.setAttribute(attr, t(e.dataset[key]));
  }
  $("lang-toggle").lang = lang === "ko" ? "en" : "ko";
  for (const m of document.querySelectorAll("mark.unsupported")) m.title = t("flag_title");
  updateThemeLabel();
  renderHistory();
}

// ---------------------------------------------------------------------------------------------
// Theme: follows prefers-color-scheme until #theme-toggle picks one.

const darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
function effectiveTheme() {
  return document.documentElement.dataset.theme || (darkQuery && darkQuery.matches ? "dark" : "light");
}
function updateThemeLabel() {
  // The button names the theme it switches to.
  $("theme-label").textContent = t(effectiveTheme() === "dark" ? "theme_light" : "theme_dark");
  $("theme-toggle").dataset.to = effectiveTheme() === "dark" ? "light" : "dark";
}
{
  const saved = store.get("theme");
  if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
  if (darkQuery && darkQuery.addEventListener) darkQuery.addEventListener("change", updateThemeLabel);
}

// ---------------------------------------------------------------------------------------------
// The API: every call carries the stored key; a 401 asks for a key and tries again.

class ApiError extends Error {
  constructor(message, type, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

function authHeaders(headers = {}) {
  const key = store.get("key");
  if (key) headers.Authorization = "Bearer " + key;
  return headers;
}

let keyWaiters = [];
function askForKey() {
  const box = $("key-prompt");
  box.hidden = false;
  const input = $("key-input");
  input.value = store.get("key") || "";
  setTimeout(() => input.focus(), 0);
  return new Promise((resolve) => keyWaiters.push(resolve));
}

async function errorFrom(res) {
  let message = res.status + " " + (res.statusText || "");
  let type = "http";
  try {
    const j = await res.json();
    if (j && j.error) {
      message = j.error.message || message;
      type = j.error.type || type;
    }
  } catch (e) {}
  return new ApiError(message, type, res.status);
}

async function api(path, { method = "GET", body, signal, raw = false } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = authHeaders(body !== undefined ? { "Content-Type": "application/json" } : {});
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal,
      });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(t("network_error"), "network", 0);
    }
    if (res.status === 401 && attempt < 5) {
      await askForKey();
      continue;
    }
    if (!res.ok) throw await errorFrom(res);
    return raw ? res : res.json();
  }
}

// ---------------------------------------------------------------------------------------------
// Settings: model, sources, collection (remembered).

async function loadModels() {
  const select = $("model");
  let ids = [];
  try {
    const j = await api("/v1/models");
    ids = (j.data || []).map((m) => m.id).filter(Boolean);
  } catch (e) {
    ids = [];
  }
  if (!ids.length) ids = ["chaja"];
  select.replaceChildren(...ids.map((id) => new Option(id, id)));
  const saved = store.get("model");
  select.value = saved && ids.includes(saved) ? saved : ids[0];
}

async function loadCollections() {
  const select = $("collection");
  let names = [];
  try {
    const j = await api("/v1/collections");
    names = (j.collections || []).map((c) => c.name).filter(Boolean);
  } catch (e) {
    names = [];
  }
  if (!names.length) names = ["default"];
  const current = select.value || store.get("collection");
  select.replaceChildren(...names.map((n) => new Option(n, n)));
  select.value = current && names.includes(current) ? current : names.includes("default") ? "default" : names[0];
}

function initSettings() {
  const sources = store.get("sources");
  if (["local", "web", "both"].includes(sources)) $("sources").value = sources;
  for (const id of ["model", "sources", "collection"])
    $(id).addEventListener("change", () => store.set(id, $(id).value));
}

// ---------------------------------------------------------------------------------------------
// History (localStorage): [{id, q, at}], newest first.

function historyList() {
  try {
    const list = JSON.parse(store.get("history", "[]"));
    return Array.isArray(list) ? list : [];
  } catch (e) {
    return [];
  }
}
function remember(id, question) {
  let list = historyList();
  const old = list.find((h) => h.id === id);
  list = list.filter((h) => h.id !== id);
  list.unshift({ id, q: old ? old.q : question, at: Date.now() });
  store.set("history", JSON.stringify(list.slice(0, 50)));
  renderHistory();
}
function ago(at) {
  const s = (Date.now() - at) / 1000;
  if (s < 60) return t("just_now");
  if (s < 3600) return t("minutes_ago", Math.floor(s / 60));
  if (s < 86400) return t("hours_ago", Math.floor(s / 3600));
  return t("days_ago", Math.floor(s / 86400));
}
function renderHistory() {
  const ul = $("history-list");
  const list = historyList();
  ul.replaceChildren(
    ...list.map((h) => {
      const li = el("li");
      const a = el("a", "history-item");
      a.href = "#/t/" + h.id;
      if (h.id === state.threadId) a.setAttribute("aria-current", "page");
      a.append(el("span", "history-q", h.q || h.id), el("span", "history-time", ago(h.at)));
      li.append(a);
      return li;
    }),
  );
  $("history-empty").hidden = list.length > 0;
}

// ---------------------------------------------------------------------------------------------
// The thread

const state = {
  threadId: null,
  turns: [],
  busy: null,  // the turn being answered
  controller: null,
};
const turnOf = new WeakMap();  // .turn element -> turn

function showThreadView(on) {
  $("home").hidden = on;
  $("thread").hidden = !on;
  $("followup-bar").hidden = !on;
  document.body.classList.toggle("has-thread", on);
  // The selectors live in whichever ask box is shown.
  const controls = $("controls");
  const target = on ? $("controls-followup") : $("controls-home");
  if (controls.parentNode !== target) target.prepend(controls);
}

function newTurn(question) {
  const turn = {
    question,
    answer: "",
    cites: new Map(),  // final n -> citation, from `citation` events, then done.citations
    sources: [],
    related: [],
    flags: [],
    done: null,
    raf: 0,
  };
  const root = el("article", "turn");
  root.dataset.state = "streaming";
  const q = el("h2", "turn-question", question);
  const steps = el("ol", "turn-steps");
  const sources = el("div", "turn-sources");
  sources.hidden = true;
  const answerHead = label("h3", "turn-label", "answer_heading");
  const answer = el("div", "turn-answer");
  answer.setAttribute("aria-live", "polite");
  answer.setAttribute("aria-busy", "true");
  const legend = el("p", "turn-legend");
  legend.hidden = true;
  const warnings = el("p", "turn-warnings");
  warnings.hidden = true;
  const error = el("p", "turn-error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const related = el("div", "turn-related");
  related.hidden = true;
  root.append(q, steps, sources, answerHead, answer, legend, warnings, error, related);
  Object.assign(turn, { root, steps, sourcesEl: sources, answerEl: answer, legend, warnings, error, relatedEl: related });
  turnOf.set(root, turn);
  state.turns.push(turn);
  $("thread").append(root);
  return turn;
}

function addStep(turn, kind, text) {
  const li = el("li", "step");
  li.dataset.kind = kind;
  const key = "step_" + kind;
  li.append(label("span", "step-kind", I18N.en[key] ? key : "step_other"), document.createTextNode(" "), el("span", "step-text", text));
  turn.steps.append(li);
}

function citeKey(c) {
  if (!c) return "";
  if (c.kind === "web") return "w:" + (c.url || c.source);
  return "l:" + c.doc_id + ":" + c.chunk_id;
}

// The sources row: while streaming, the passages the model was given; once done, the cited
// ones first (with their final numbers), the rest dimmed.
function renderSources(turn) {
  const box = turn.sourcesEl;
  const cited = turn.done ? (turn.done.citations || []) : [];
  const citedKeys = new Set(cited.map(citeKey));
  let cards = [];
  if (turn.done) {
    cards = cited.map((c) => ({ c, n: c.n, cited: true }));
    for (const c of turn.sources) if (!citedKeys.has(citeKey(c))) cards.push({ c, n: null, cited: false });
  } else {
    const streamed = new Set([...turn.cites.values()].map(citeKey));
    cards = turn.sources.map((c) => ({ c, n: c.n, cited: streamed.has(citeKey(c)) }));
  }
  if (!cards.length) {
    box.hidden = true;
    return;
  }
  const row = el("div", "source-row");
  for (const { c, n, cited } of cards) {
    const href = ChajaRender.sourceHref(c);
    const card = el(href ? "a" : "button", "source-card");
    if (href) {
      card.href = href;
      card.target = "_blank";
      card.rel = "noopener noreferrer";
    } else {
      card.type = "button";
      card.addEventListener("click", () => openDocument(c, turn));
    }
    if (turn.done && !cited) card.classList.add("uncited");
    if (cited) card.dataset.cited = "true";
    if (n) card.dataset.n = String(n);
    const title = el("span", "source-title", c.title || ChajaRender.sourceLabel(c));
    const foot = el("span", "source-foot");
    foot.append(el("span", "source-num", n && (turn.done ? cited : true) ? String(n) : "·"));
    foot.append(el("span", "source-label", ChajaRender.sourceLabel(c)));
    card.append(title, foot);
    card.title = (c.title || "") + "\n" + ChajaRender.sourceLabel(c);
    row.append(card);
  }
  const head = label("h3", "turn-label", "sources_heading");
  box.replaceChildren(head, row);
  box.hidden = false;
}

function chipFor(turn) {
  return (n) => {
    // While streaming, a marker may arrive before (or without) its `citation` event: it is a
    // chip already, with its card once the citation is known. Once done, only real citations.
    const c = turn.cites.get(n);
    if (!c && (turn.done || n < 1)) return null;
    const b = el("button", "chip", String(n));
    b.type = "button";
    b.dataset.n = String(n);
    if (c) b.setAttribute("aria-label", "[" + n + "] " + (c.title || ChajaRender.sourceLabel(c)));
    else b.dataset.pending = "true";
    return b;
  };
}

function renderAnswer(turn) {
  turn.raf = 0;
  ChajaRender.renderMarkdown(turn.answerEl, turn.answer, {
    chip: chipFor(turn),
    flags: turn.flags,
    flagTitle: t("flag_title"),
  });
}
function scheduleRender(turn) {
  if (turn.raf) return;
  const run = () => renderAnswer(turn);
  turn.raf = document.hidden ? setTimeout(run, 30) : requestAnimationFrame(run);
}
function flushRender(turn) {
  if (turn.raf) {
    cancelAnimationFrame(turn.raf);
    clearTimeout(turn.raf);
  }
  renderAnswer(turn);
}

function renderRelated(turn, questions) {
  turn.related = questions || [];
  const box = turn.relatedEl;
  if (!turn.related.length) {
    box.hidden = true;
    return;
  }
  const list = el("div", "related-list");
  for (const q of turn.related) {
    const b = el("button", "related");
    b.type = "button";
    b.append(el("span", "related-text", q), el("span", "related-plus", "+"));
    b.firstChild.nextSibling.setAttribute("aria-hidden", "true");
    b.addEventListener("click", () => ask(q));
    list.append(b);
  }
  box.replaceChildren(label("h3", "turn-label", "related_heading"), list);
  box.hidden = false;
}

function finishTurn(turn, done) {
  turn.done = done;
  turn.answer = done.answer || turn.answer;
  turn.cites = new Map((done.citations || []).map((c) => [c.n, c]));
  const unsupported = (done.claims || []).filter((c) => c && c.supported === false);
  turn.flags = unsupported.length ? ChajaRender.claimRanges(turn.answer, unsupported) : [];
  flushRender(turn);
  if (turn.flags.length) {
    const n = turn.flags.length;
    turn.legend.replaceChildren(el("span", "legend-icon", "⚠"), document.createTextNode(" "),
      n === 1 ? label("span", "", "flags_legend_1") : label("span", "", "flags_legend", n));
    turn.legend.hidden = false;
  }
  if (done.warnings && done.warnings.length) {
    turn.warnings.replaceChildren(label("span", "warn-label", "warnings"), document.createTextNode(" " + done.warnings.join(" · ")));
    turn.warnings.hidden = false;
  }
  renderSources(turn);
  if (done.related_questions && done.related_questions.length) renderRelated(turn, done.related_questions);
  turn.answerEl.setAttribute("aria-busy", "false");
  turn.root.dataset.state = "done";
}

function failTurn(turn, message) {
  if (turn.raf) flushRender(turn);
  turn.error.replaceChildren(label("strong", "", "error_prefix"), document.createTextNode(" " + message));
  turn.error.hidden = false;
  turn.answerEl.setAttribute("aria-busy", "false");
  turn.root.dataset.state = "error";
}

function setBusy(turn) {
  state.busy = turn;
  $("stop").hidden = !turn;
  document.body.classList.toggle("busy", !!turn);
}

async function ask(question) {
  question = String(question || "").trim();
  if (!question || state.busy) return;
  closePopover();
  showThreadView(true);
  const turn = newTurn(question);
  turn.root.scrollIntoView({ block: "start", behavior: "smooth" });
  const controller = new AbortController();
  state.controller = controller;
  setBusy(turn);
  const body = {
    query: question,
    stream: true,
    // "chaja" (listed first by /v1/models) is the server's default model: /v1/ask is sent no
    // model for it, since it accepts only real model names.
    model: $("model").value && $("model").value !== "chaja" ? $("model").value : undefined,
    sources: $("sources").value || "local",
    collection: $("collection").value || undefined,
  };
  if (state.threadId) body.thread_id = state.threadId;
  let finished = false;
  const onEvent = (type, data) => {
    let j;
    try {
      j = JSON.parse(data);
    } catch (e) {
      return;
    }
    switch (type) {
      case "step":
        addStep(turn, j.kind || "", j.text || "");
        break;
      case "sources":
        turn.sources = j.citations || [];
        renderSources(turn);
        break;
      case "citation":
        if (j && j.n) turn.cites.set(j.n, j);
        renderSources(turn);
        break;
      case "delta":
        turn.answer += j.text || "";
        scheduleRender(turn);
        break;
      case "related":
        renderRelated(turn, j.related_questions);
        break;
      case "done":
        finished = true;
        finishTurn(turn, j);
        if (j.thread_id) {
          const first = !state.threadId;
          state.threadId = j.thread_id;
          remember(j.thread_id, first ? question : state.turns[0].question);
          if (location.hash !== "#/t/" + j.thread_id) location.hash = "#/t/" + j.thread_id;
        }
        break;
      case "error":
        finished = true;
        failTurn(turn, (j.error && j.error.message) || "error");
        break;
    }
  };
  try {
    const res = await api("/v1/ask", { method: "POST", body, signal: controller.signal, raw: true });
    await ChajaSse.read(res.body, onEvent);
    if (!finished) failTurn(turn, t("network_error"));
  } catch (e) {
    if (e.name === "AbortError") {
      if (!finished) {
        flushRender(turn);
        turn.legend.replaceChildren(label("span", "", "stopped"));
        turn.legend.hidden = false;
        turn.answerEl.setAttribute("aria-busy", "false");
        turn.root.dataset.state = "done";
        turn.root.dataset.stopped = "true";
      }
    } else if (!finished) {
      failTurn(turn, e.message || String(e));
    }
  } finally {
    state.controller = null;
    setBusy(null);
  }
}

function resetThread() {
  if (state.controller) state.controller.abort();
  state.threadId = null;
  state.turns = [];
  $("thread").replaceChildren();
  closePopover();
  closeDocument();
  showThreadView(false);
  renderHistory();
}

function newThread() {
  resetThread();
  if (location.hash) history.pushState(null, "", location.pathname + location.search);
  setSidebar(false);
  $("q").value = "";
  $("q").focus();
}

// A stored thread (#/t/ID): its turns as they were answered.
async function restoreThread(id) {
  resetThread();
  state.threadId = id;
  showThreadView(true);
  const loading = label("p", "muted thread-loading", "restoring");
  $("thread").append(loading);
  try {
    const thread = await api("/v1/threads/" + encodeURIComponent(id));
    loading.remove();
    if (state.threadId !== id) return;
    if (thread.collection && [...$("collection").options].some((o) => o.value === thread.collection))
      $("collection").value = thread.collection;
    for (const tr of thread.turns || []) {
      const turn = newTurn(tr.question || tr.query || "");
      if (tr.query && tr.query !== tr.question) addStep(turn, "rewrite", tr.query);
      turn.sources = [];
      finishTurn(turn, {
        answer: tr.answer || "",
        citations: tr.citations || [],
        related_questions: tr.related_questions || [],
        claims: tr.claims || [],
      });
    }
    if (thread.turns && thread.turns.length) remember(id, thread.turns[0].question);
    renderHistory();
  } catch (e) {
    loading.remove();
    const turn = newTurn("");
    turn.root.querySelector(".turn-question").remove();
    failTurn(turn, t("thread_missing") + " " + (e.message || ""));
  }
}

function threadFromHash() {
  const m = /^#\/t\/([0-9a-fA-F]{8,64})$/.exec(location.hash);
  return m ? m[1] : null;
}
function onHash() {
  const id = threadFromHash();
  if (id) {
    if (id !== state.threadId) restoreThread(id);
  } else if (state.threadId && !state.busy) {
    resetThread();
  }
  setSidebar(false);
}

// ---------------------------------------------------------------------------------------------
// Citations: hover / focus shows the card, click opens the source.

let popoverFor = null;
let hideTimer = 0;

function citationOfChip(chip) {
  const root = chip.closest(".turn");
  const turn = root && turnOf.get(root);
  if (!turn) return {};
  return { turn, c: turn.cites.get(Number(chip.dataset.n)) };
}

function showPopover(chip) {
  clearTimeout(hideTimer);
  const { c } = citationOfChip(chip);
  if (!c) return;
  const pop = $("popover");
  if (popoverFor !== chip) {
    const card = ChajaRender.citationCard(c);
    const num = el("span", "cite-card-n", String(c.n));
    card.prepend(num);
    pop.replaceChildren(card);
    popoverFor = chip;
  }
  pop.hidden = false;
  const r = chip.getBoundingClientRect();
  const w = pop.offsetWidth;
  const h = pop.offsetHeight;
  const vw = document.documentElement.clientWidth;
  let left = Math.min(Math.max(8, r.left + r.width / 2 - w / 2), vw - w - 8);
  let top = r.bottom + 8;
  if (top + h > window.innerHeight - 8 && r.top - h - 8 > 0) top = r.top - h - 8;
  pop.style.left = Math.max(8, left) + "px";
  pop.style.top = top + "px";
}
function hidePopoverSoon() {
  clearTimeout(hideTimer);
  hideTimer = setTimeout(closePopover, 180);
}
function closePopover() {
  clearTimeout(hideTimer);
  $("popover").hidden = true;
  popoverFor = null;
}

function openCitation(chip) {
  const { turn, c } = citationOfChip(chip);
  if (!c) return;
  const href = ChajaRender.sourceHref(c);
  if (href) {
    window.open(href, "_blank", "noopener,noreferrer");
  } else {
    closePopover();
    openDocument(c, turn);
  }
}

function initCitations() {
  const thread = $("thread");
  thread.addEventListener("mouseover", (e) => {
    const chip = e.target.closest && e.target.closest(".chip");
    if (chip) showPopover(chip);
  });
  thread.addEventListener("mouseout", (e) => {
    const chip = e.target.closest && e.target.closest(".chip");
    if (chip && !(e.relatedTarget && chip.contains(e.relatedTarget))) hidePopoverSoon();
  });
  thread.addEventListener("focusin", (e) => {
    if (e.target.classList && e.target.classList.contains("chip")) showPopover(e.target);
  });
  thread.addEventListener("focusout", (e) => {
    if (e.target.classList && e.target.classList.contains("chip")) hidePopoverSoon();
  });
  thread.addEventListener("click", (e) => {
    const chip = e.target.closest && e.target.closest(".chip");
    if (chip) {
      e.preventDefault();
      openCitation(chip);
    }
  });
  const pop = $("popover");
  pop.addEventListener("mouseenter", () => clearTimeout(hideTimer));
  pop.addEventListener("mouseleave", hidePopoverSoon);
  window.addEventListener("scroll", () => closePopover(), { passive: true });
}

// ---------------------------------------------------------------------------------------------
// The document panel: a local source, its cited passage highlighted.

let docRequest = 0;
let docOpener = null;

// `text` as text nodes, with the first occurrence of `snippet` in a <mark>. Returns the mark.
function highlighted(parent, text, snippet) {
  const needle = String(snippet || "").replace(/^[\s…]+|[\s…]+$/g, "");
  let at = needle ? text.indexOf(needle) : -1;
  let len = needle.length;
  if (at < 0 && needle.length > 40) {
    const head = needle.slice(0, 40);
    at = text.indexOf(head);
    len = at < 0 ? 0 : Math.min(needle.length, text.length - at);
  }
  if (at < 0) {
    parent.append(document.createTextNode(text));
    return null;
  }
  const mark = el("mark", "cited", text.slice(at, at + len));
  parent.append(document.createTextNode(text.slice(0, at)), mark, document.createTextNode(text.slice(at + len)));
  return mark;
}

async function openDocument(c, turn) {
  const panel = $("doc-panel");
  const request = ++docRequest;
  docOpener = document.activeElement;
  $("doc-title").textContent = c.title || ChajaRender.sourceLabel(c);
  $("doc-source").textContent = c.source || ChajaRender.sourceLabel(c);
  const body = $("doc-body");
  body.replaceChildren(label("p", "muted", "doc_loading"));
  panel.hidden = false;
  panel.dataset.docId = String(c.doc_id);
  document.body.classList.add("panel-open");
  panel.focus({ preventScroll: true });

  let doc = null;
  if (c.doc_id !== null && c.doc_id !== undefined) {
    try {
      doc = await api("/v1/documents/" + encodeURIComponent(c.doc_id));
    } catch (e) {
      doc = null;
    }
  }
  if (request !== docRequest) return;
  if (doc) {
    if (doc.title) $("doc-title").textContent = doc.title;
    const meta = [doc.source || c.source || "", doc.collection || ""].filter(Boolean).join(" · ");
    $("doc-source").textContent = meta;
  }
  const parts = [];
  let mark = null;
  if (doc && typeof doc.text === "string" && doc.text) {
    const full = el("div", "doc-text");
    mark = highlighted(full, doc.text, c.snippet);
    parts.push(full);
  } else {
    // The server does not return a document's text: show the passages of it this answer saw,
    // in document order, the cited one highlighted.
    const seen = new Map();
    const pool = [...(turn ? turn.sources : []), ...(turn ? turn.cites.values() : [])];
    for (const p of pool)
      if (p.kind !== "web" && p.doc_id === c.doc_id && p.snippet && !seen.has(p.chunk_id)) seen.set(p.chunk_id, p);
    if (!seen.has(c.chunk_id)) seen.set(c.chunk_id, c);
    const passages = [...seen.values()].sort((a, b) => (a.chunk_id || 0) - (b.chunk_id || 0));
    parts.push(label("h3", "doc-section", passages.length > 1 ? "doc_passages" : "doc_cited"));
    for (const p of passages) {
      const para = el("p", "doc-text doc-passage");
      // A snippet keeps its file's hard line breaks: join wrapped lines, keep blank lines.
      const text = String(p.snippet || "").replace(/([^\n])\n(?!\n)/g, "$1 ");
      if (p.chunk_id === c.chunk_id) {
        const m = el("mark", "cited", text);
        para.append(m);
        mark = m;
      } else {
        para.append(document.createTextNode(text));
      }
      parts.push(para);
    }
  }
  if (doc && doc.chunks) parts.push(label("p", "muted doc-meta", "doc_meta", doc.chunks));
  body.replaceChildren(...parts);
  if (mark) mark.scrollIntoView({ block: "center" });
}

function closeDocument() {
  const panel = $("doc-panel");
  if (panel.hidden) return;
  panel.hidden = true;
  document.body.classList.remove("panel-open");
  docRequest++;
  if (docOpener && document.contains(docOpener)) docOpener.focus({ preventScroll: true });
  docOpener = null;
}

// ---------------------------------------------------------------------------------------------
// Uploads: drag and drop anywhere, or the upload button.

const ACCEPTED = /\.(txt|md|markdown|html?|pdf|docx)$/i;

function uploadFiles(files) {
  const list = [...(files || [])];
  if (!list.length) return;
  $("uploads").hidden = false;
  let pending = list.length;
  const settle = () => {
    if (--pending === 0) loadCollections();
  };
  for (const file of list) {
    const item = el("li", "upload-item");
    const name = el("span", "upload-name", file.name);
    const bar = el("progress");
    bar.max = 1;
    bar.value = 0;
    const status = el("span", "upload-status");
    item.append(name, bar, status);
    item.dataset.state = "uploading";
    $("upload-list").prepend(item);
    if (!ACCEPTED.test(file.name)) {
      bar.remove();
      status.textContent = t("upload_refused");
      item.dataset.state = "error";
      settle();
      continue;
    }
    status.textContent = t("uploading");
    sendFile(file, $("collection").value || "default", bar, status, item, settle);
  }
}

function sendFile(file, collection, bar, status, item, settle) {
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("collection", collection);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/documents");
  const headers = authHeaders();
  for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) bar.value = e.loaded / e.total;
  };
  xhr.onload = async () => {
    if (xhr.status === 401) {
      await askForKey();
      sendFile(file, collection, bar, status, item, settle);
      return;
    }
    let j = null;
    try {
      j = JSON.parse(xhr.responseText);
    } catch (e) {}
    bar.value = 1;
    if (xhr.status === 202 && j && j.job_id) {
      // A large document: stored in the background; follow its job.
      status.textContent = t("upload_storing");
      bar.value = 0;
      pollJob(j.job_id, bar, status, item, settle);
      return;
    }
    if (xhr.status >= 200 && xhr.status < 300 && j) {
      uploaded(j, status, item);
    } else {
      status.textContent = (j && j.error && j.error.message) || xhr.status + " " + xhr.statusText;
      item.dataset.state = "error";
    }
    bar.remove();
    settle();
  };
  xhr.onerror = () => {
    status.textContent = t("network_error");
    item.dataset.state = "error";
    bar.remove();
    settle();
  };
  xhr.send(form);
}

function uploaded(result, status, item) {
  const key =
    { added: "upload_added", replaced: "upload_replaced", duplicate: "upload_duplicate" }[result.status] ||
    "upload_added";
  status.replaceChildren(label("span", "", key, result.chunks || 0));
  item.dataset.state = "done";
  item.dataset.docId = String(result.id);
}

// Polls GET /v1/jobs/{id} until the job ends, its progress on the item's bar.
async function pollJob(id, bar, status, item, settle) {
  for (;;) {
    let job;
    try {
      job = await api("/v1/jobs/" + encodeURIComponent(id));
    } catch (e) {
      status.textContent = e.message || String(e);
      item.dataset.state = "error";
      break;
    }
    bar.value = job.progress || 0;
    if (job.state === "done" && job.result) {
      uploaded(job.result, status, item);
      break;
    }
    if (job.state === "failed") {
      status.textContent = (job.error && job.error.message) || "failed";
      item.dataset.state = "error";
      break;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  bar.remove();
  settle();
}

function initUploads() {
  const overlay = $("drop-overlay");
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files");
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    overlay.hidden = false;
  });
  window.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    overlay.hidden = false;
  });
  window.addEventListener("dragleave", (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    uploadFiles(e.dataTransfer.files);
  });
  $("upload-button").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (e) => {
    uploadFiles(e.target.files);
    e.target.value = "";
  });
  $("uploads-close").addEventListener("click", () => {
    $("uploads").hidden = true;
    $("upload-list").replaceChildren();
  });
}

// ---------------------------------------------------------------------------------------------
// Sidebar (a drawer on narrow screens), keyboard, forms.

function setSidebar(open) {
  document.body.classList.toggle("sidebar-open", open);
  $("menu-button").setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !open;
}

function autosize(area) {
  area.style.height = "auto";
  area.style.height = Math.min(area.scrollHeight + 2, 240) + "px";
}

function initForms() {
  for (const [formId, areaId] of [["ask-form", "q"], ["followup-form", "followup"]]) {
    const form = $(formId);
    const area = $(areaId);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = area.value.trim();
      if (!q || state.busy) return;
      area.value = "";
      autosize(area);
      ask(q);
    });
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    area.addEventListener("input", () => autosize(area));
  }
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("new-thread").addEventListener("click", newThread);
  for (const id of ["brand", "brand-top"])
    $(id).addEventListener("click", (e) => {
      e.preventDefault();
      newThread();
    });
  $("menu-button").addEventListener("click", () => setSidebar(!document.body.classList.contains("sidebar-open")));
  $("scrim").addEventListener("click", () => setSidebar(false));
  $("doc-close").addEventListener("click", closeDocument);
  $("theme-toggle").addEventListener("click", () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    store.set("theme", next);
    updateThemeLabel();
  });
  $("lang-toggle").addEventListener("click", () => {
    lang = lang === "ko" ? "en" : "ko";
    store.set("lang", lang);
    applyLanguage();
  });
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("key-input").value.trim();
    store.set("key", key || null);
    $("key-prompt").hidden = true;
    const waiters = keyWaiters;
    keyWaiters = [];
    for (const w of waiters) w();
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      if (!$("popover").hidden) closePopover();
      else if (!$("doc-panel").hidden) closeDocument();
      else if (document.body.classList.contains("sidebar-open")) setSidebar(false);
      return;
    }
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    const a = document.activeElement;
    const typing = a && (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName));
    if (typing) return;
    e.preventDefault();
    const box = $("home").hidden ? $("followup") : $("q");
    box.focus();
  });
}

// ---------------------------------------------------------------------------------------------

function start() {
  initSettings();
  initForms();
  initCitations();
  initUploads();
  applyLanguage();
  window.addEventListener("hashchange", onHash);
  window.addEventListener("popstate", onHash);
  loadCollections();
  loadModels();
  const id = threadFromHash();
  if (id) restoreThread(id);
  else $("q").focus();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
