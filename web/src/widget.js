// widget.js: the embeddable chat. One script tag adds a chat bubble to any page:
//
//   <script src="https://chaja.example.com/widget.js" data-token="KEY" data-collection="docs"
//           data-title="Acme Help" data-color="#0a7d55"></script>
//
// Everything lives in a shadow root on one host element appended to <body>, styled by a
// constructable stylesheet: the host page's CSS cannot reach in, and the widget's cannot leak
// out. Server data only ever becomes text nodes (ChajaRender builds the answer's Markdown from
// textContent). The only global is window.ChajaWidget = {open, close, toggle, ask, newChat}, and
// only when no other widget on the page took it first. docs/widget.md describes the attributes.
(() => {
  const script =
    document.currentScript ||
    [...document.querySelectorAll("script[src]")].find((s) => /\/widget\.js(\?|#|$)/.test(s.src));
  if (!script) return;
  const attr = (name) => {
    const v = script.getAttribute("data-" + name);
    return v === null ? null : v.trim();
  };

  const STRINGS = {
    en: {
      title: "Chaja",
      open: "Open chat",
      close: "Close chat",
      newChat: "New chat",
      placeholder: "Ask a question…",
      send: "Send",
      welcome: "Hi! Ask me a question and I will answer from our documents, with sources.",
      searching: "Searching…",
      reading: "Reading…",
      writing: "Writing…",
      powered: "Powered by Chaja",
      sources: "Sources",
      related: "Related",
      unauthorized: "This widget's token is not accepted by the server",
      unreachable: "Cannot reach the server",
      failed: "Something went wrong",
      cutOff: "The answer was cut off",
      busy: "The server is busy; try again in a moment",
      unsupported: "Not backed by the cited source",
      citation: "Source",
    },
    ko: {
      title: "Chaja",
      open: "채팅 열기",
      close: "채팅 닫기",
      newChat: "새 대화",
      placeholder: "질문을 입력하세요…",
      send: "보내기",
      welcome: "안녕하세요! 질문하시면 문서에서 찾아 출처와 함께 답해 드립니다.",
      searching: "검색 중…",
      reading: "읽는 중…",
      writing: "답변 작성 중…",
      powered: "Powered by Chaja",
      sources: "출처",
      related: "관련 질문",
      unauthorized: "서버가 이 위젯의 토큰을 받아들이지 않습니다",
      unreachable: "서버에 연결할 수 없습니다",
      failed: "문제가 생겼습니다",
      cutOff: "답변이 중간에 끊겼습니다",
      busy: "서버가 바쁩니다. 잠시 후 다시 시도하세요",
      unsupported: "인용한 출처가 뒷받침하지 않는 내용",
      citation: "출처",
    },
  };

  // ---- configuration, from the script tag -------------------------------------------------------
  const scriptOrigin = (() => {
    try {
      return new URL(script.src, location.href).origin;
    } catch (e) {
      return location.origin;
    }
  })();
  const server = (attr("server") || scriptOrigin).replace(/\/+$/, "");
  const token = attr("token") || "";
  const collection = attr("collection") || "";
  const langAttr = (attr("lang") || "").toLowerCase();
  const lang =
    langAttr === "ko" || langAttr === "en"
      ? langAttr
      : /^ko\b/i.test(navigator.language || "")
        ? "ko"
        : "en";
  const T = STRINGS[lang];
  const title = attr("title") || T.title;
  const colorAttr = attr("color");
  const accent =
    colorAttr && window.CSS && CSS.supports && CSS.supports("color", colorAttr)
      ? colorAttr
      : "#2f6fde";
  const left = attr("position") === "left";
  const placeholder = attr("placeholder") || T.placeholder;
  const welcome = attr("welcome") !== null ? attr("welcome") : T.welcome;

  // sessionStorage key: a hash of where and as whom, so a reload keeps the chat but the token
  // itself is never stored.
  const storageKey = (() => {
    let h = 0x811c9dc5;
    const s = server + "\n" + token + "\n" + collection;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return "chaja-widget:" + h.toString(16);
  })();
  const load = () => {
    try {
      const v = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (v && Array.isArray(v.messages)) return v;
    } catch (e) {}
    return { thread_id: "", messages: [] };
  };
  const state = load();
  const save = () => {
    try {
      state.messages = state.messages.slice(-40);
      sessionStorage.setItem(storageKey, JSON.stringify(state));
    } catch (e) {}  // storage full or denied: the chat still works, it just won't survive a reload
  };

  // ---- styles --------------------------------------------------------------------------------------
  const CSS_TEXT = `
:host { all: initial; }
[hidden] { display: none !important; }
.root { all: initial; display: block; font-family: system-ui, -apple-system, "Segoe UI", Roboto,
  "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR", sans-serif; font-size: 14px;
  line-height: 1.5; color: #1f2328; text-align: left; direction: ltr; letter-spacing: normal;
  font-weight: 400; font-style: normal; text-transform: none; --accent: #2f6fde; --on-accent: #fff; }
.root *, .root *::before, .root *::after { box-sizing: border-box; }
button, textarea { font: inherit; color: inherit; letter-spacing: inherit; }
button { cursor: pointer; }
.bubble { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; width: 56px; height: 56px;
  margin: 0; padding: 0; border: none; border-radius: 50%; background: var(--accent);
  color: var(--on-accent); display: flex; align-items: center; justify-content: center;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); transition: transform .15s ease; }
.bubble:hover { transform: scale(1.05); }
.bubble:focus-visible, .icon-btn:focus-visible, .send:focus-visible, .chip:focus-visible,
.related button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.bubble svg { width: 26px; height: 26px; }
.left .bubble { right: auto; left: 20px; }
.panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483001; width: 380px; height: 560px;
  max-width: calc(100vw - 40px); max-height: calc(100vh - 108px); display: flex;
  flex-direction: column; background: #fff; border-radius: 14px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.22), 0 0 0 1px rgba(0,0,0,.06); }
.left .panel { right: auto; left: 20px; }
@media (max-width: 480px) {
  .panel, .left .panel { top: 0; right: 0; bottom: 0; left: 0; width: auto; height: auto;
    max-width: none; max-height: none; border-radius: 0; }
  .open .bubble { display: none; }
}
.header { display: flex; align-items: center; gap: 4px; padding: 10px 8px 10px 16px;
  background: var(--accent); color: var(--on-accent); flex: none; }
.title { flex: 1; min-width: 0; font-size: 15px; font-weight: 600; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.icon-btn { width: 32px; height: 32px; margin: 0; padding: 0; border: none; border-radius: 8px;
  background: transparent; color: inherit; display: flex; align-items: center; justify-content: center; }
.icon-btn:hover { background: rgba(127,127,127,.2); }
.icon-btn svg { width: 18px; height: 18px; }
.messages { flex: 1; min-height: 0; overflow-y: auto; padding: 14px; display: flex;
  flex-direction: column; gap: 10px; background: #f6f7f9; overscroll-behavior: contain; }
.msg { max-width: 100%; overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; max-width: 85%; padding: 8px 12px; white-space: pre-wrap;
  background: var(--accent); color: var(--on-accent); border-radius: 14px 14px 4px 14px; }
.msg.assistant, .msg.welcome { align-self: stretch; padding: 10px 12px; background: #fff;
  border: 1px solid #e3e6ea; border-radius: 14px 14px 14px 4px; }
.msg.welcome { color: #424a53; }
.answer > :first-child { margin-top: 0; }
.answer > :last-child { margin-bottom: 0; }
.answer p, .answer ul, .answer ol, .answer pre, .answer blockquote, .answer .table-wrap { margin: 0 0 8px; }
.answer ul, .answer ol { padding-left: 20px; }
.answer h3, .answer h4, .answer h5, .answer h6 { margin: 10px 0 6px; font-size: 14px; font-weight: 600; }
.answer code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
  background: #f0f2f5; padding: 1px 4px; border-radius: 4px; }
.answer pre { background: #f0f2f5; padding: 8px; border-radius: 6px; overflow-x: auto; }
.answer pre code { background: none; padding: 0; }
.answer blockquote { border-left: 3px solid #d0d7de; padding-left: 10px; color: #57606a; }
.answer .table-wrap { overflow-x: auto; }
.answer table { border-collapse: collapse; font-size: 13px; }
.answer th, .answer td { border: 1px solid #d0d7de; padding: 3px 6px; }
.answer a { color: var(--accent); }
.answer hr { border: none; border-top: 1px solid #e3e6ea; }
.answer mark.unsupported { background: #fff4ce; color: inherit; text-decoration: underline dotted #b08800; }
.chip { display: inline-flex; align-items: center; justify-content: center; min-width: 18px;
  height: 18px; margin: 0 1px; padding: 0 5px; vertical-align: 1px; border: 1px solid var(--accent);
  border-radius: 9px; background: #fff; color: var(--accent); font-size: 11px; font-weight: 600;
  line-height: 1; }
.chip:hover, .chip.active { background: var(--accent); color: var(--on-accent); }
.status { display: flex; align-items: center; gap: 8px; color: #6e7781; font-size: 12px; }
.status .dot { width: 7px; height: 7px; border-radius: 50%; background: var(--accent);
  animation: chaja-pulse 1s ease-in-out infinite; }
@keyframes chaja-pulse { 50% { opacity: .25; } }
@media (prefers-reduced-motion: reduce) { .status .dot { animation: none; } .bubble { transition: none; } }
.error { color: #b42318; }
.error-detail { margin-top: 2px; color: #6e7781; font-size: 12px; }
.sources { margin: 8px 0 0; padding: 6px 0 0; border-top: 1px solid #eef0f3; list-style: none;
  font-size: 12px; color: #57606a; }
.sources li { display: flex; gap: 6px; min-width: 0; padding: 1px 0; }
.sources .n { flex: none; color: var(--accent); font-weight: 600; }
.sources .label { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sources a { color: inherit; text-decoration: none; }
.sources a:hover { text-decoration: underline; }
.sources .from { color: #8b949e; }
.related { margin-top: 8px; }
.related-title { font-size: 11px; color: #8b949e; text-transform: uppercase; letter-spacing: .04em; }
.related button { display: block; width: 100%; margin: 4px 0 0; padding: 5px 9px; border: 1px solid #e3e6ea;
  border-radius: 8px; background: #fff; font-size: 13px; text-align: left; color: #1f2328; }
.related button:hover { border-color: var(--accent); color: var(--accent); }
.related button:disabled { opacity: .5; cursor: default; }
.composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px 10px 6px; background: #fff;
  border-top: 1px solid #e3e6ea; flex: none; }
textarea { flex: 1; min-width: 0; height: 38px; min-height: 38px; max-height: 120px; margin: 0;
  padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 10px; background: #fff; resize: none;
  outline: none; font-size: 14px; line-height: 20px; }
textarea:focus { border-color: var(--accent); }
.send { flex: none; width: 38px; height: 38px; margin: 0; padding: 0; border: none; border-radius: 50%;
  background: var(--accent); color: var(--on-accent); display: flex; align-items: center; justify-content: center; }
.send:disabled { opacity: .45; cursor: default; }
.send svg { width: 18px; height: 18px; }
.footer { flex: none; padding: 0 0 6px; background: #fff; text-align: center; font-size: 11px; color: #8b949e; }
.popover { position: absolute; z-index: 10; width: 290px; max-width: calc(100% - 16px); padding: 10px 12px;
  background: #fff; border: 1px solid #d0d7de; border-radius: 10px; box-shadow: 0 8px 24px rgba(0,0,0,.16);
  font-size: 12px; line-height: 1.45; }
.cite-card-title { font-size: 13px; font-weight: 600; color: #1f2328; }
.cite-card-from { margin: 1px 0 6px; color: #6e7781; }
.cite-card-snippet { max-height: 150px; overflow-y: auto; color: #424a53; white-space: normal; }
`;

  // ---- DOM helpers -------------------------------------------------------------------------------
  const el = ChajaRender.el;
  const SVG_NS = "http://www.w3.org/2000/svg";
  // A stroked 24×24 icon from path data (no markup parsing).
  function icon(...paths) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", d);
      svg.append(p);
    }
    return svg;
  }
  const ICON_CHAT = ["M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-5A8 8 0 1 1 21 12z"];
  const ICON_CLOSE = ["M6 6l12 12", "M18 6L6 18"];
  const ICON_NEW = ["M12 5v14", "M5 12h14"];
  const ICON_SEND = ["M5 12h14", "M13 6l6 6-6 6"];
  function button(className, label, paths) {
    const b = el("button", className);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.title = label;
    if (paths) b.append(icon(...paths));
    return b;
  }

  // ---- the widget's DOM --------------------------------------------------------------------------
  const host = document.createElement("chaja-widget");
  const shadow = host.attachShadow({ mode: "open" });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.append(el("style", "", CSS_TEXT));
  }

  const root = el("div", "root" + (left ? " left" : ""));
  root.setAttribute("lang", lang);
  root.style.setProperty("--accent", accent);

  const bubble = button("bubble", T.open, ICON_CHAT);
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", "chaja-panel");

  const panel = el("div", "panel");
  panel.id = "chaja-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);

  const header = el("div", "header");
  const titleEl = el("div", "title", title);
  const newBtn = button("icon-btn new-chat", T.newChat, ICON_NEW);
  const closeBtn = button("icon-btn close", T.close, ICON_CLOSE);
  header.append(titleEl, newBtn, closeBtn);

  const list = el("div", "messages");
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");

  const composer = el("form", "composer");
  const input = el("textarea");
  input.rows = 1;
  input.placeholder = placeholder;
  input.setAttribute("aria-label", placeholder);
  input.maxLength = 4000;
  const send = button("send", T.send, ICON_SEND);
  send.type = "submit";
  composer.append(input, send);

  const footer = el("div", "footer", T.powered);
  const popover = el("div", "popover");
  popover.hidden = true;
  popover.setAttribute("role", "tooltip");

  panel.append(header, list, composer, footer, popover);
  root.append(panel, bubble);
  shadow.append(root);

  // Text on the accent: white, or near-black on a light accent.
  function setContrast() {
    const probe = el("span");
    probe.style.color = accent;
    root.append(probe);
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
    probe.remove();
    if (!m) return;
    const [r, g, b] = m.slice(1).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    if (lum > 0.45) root.style.setProperty("--on-accent", "#1f2328");
  }

  // ---- opening and closing -------------------------------------------------------------------
  let isOpen = false;
  function open() {
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    root.classList.add("open");
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", T.close);
    bubble.title = T.close;
    bubble.replaceChildren(icon(...ICON_CLOSE));
    list.scrollTop = list.scrollHeight;
    input.focus({ preventScroll: true });
  }
  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    hidePopover(true);
    root.classList.remove("open");
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", T.open);
    bubble.title = T.open;
    bubble.replaceChildren(icon(...ICON_CHAT));
    bubble.focus({ preventScroll: true });
  }
  const toggle = () => (isOpen ? close() : open());
  bubble.addEventListener("click", toggle);
  closeBtn.addEventListener("click", close);
  root.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!popover.hidden) hidePopover(true);
    else close();
  });

  // ---- citation chips and their popover ----------------------------------------------------------
  let pinned = null;  // the chip whose card was pinned by a click
  let hideTimer = 0;
  function showPopover(chip, c) {
    clearTimeout(hideTimer);
    popover.replaceChildren(ChajaRender.citationCard(c));
    popover.hidden = false;
    shadow.querySelectorAll(".chip.active").forEach((x) => x.classList.remove("active"));
    chip.classList.add("active");
    const p = panel.getBoundingClientRect();
    const r = chip.getBoundingClientRect();
    const w = popover.offsetWidth;
    const h = popover.offsetHeight;
    const x = Math.max(8, Math.min(r.left - p.left - w / 2 + r.width / 2, p.width - w - 8));
    let y = r.bottom - p.top + 6;
    if (y + h > p.height - 8) y = Math.max(8, r.top - p.top - h - 6);
    popover.style.left = x + "px";
    popover.style.top = y + "px";
  }
  function hidePopover(force) {
    clearTimeout(hideTimer);
    if (pinned && !force) return;
    pinned = null;
    popover.hidden = true;
    shadow.querySelectorAll(".chip.active").forEach((x) => x.classList.remove("active"));
  }
  popover.addEventListener("mouseenter", () => clearTimeout(hideTimer));
  popover.addEventListener("mouseleave", () => (hideTimer = setTimeout(() => hidePopover(false), 150)));
  panel.addEventListener("click", (e) => {
    if (pinned && !e.composedPath().includes(popover) && !e.composedPath().includes(pinned))
      hidePopover(true);
  });
  list.addEventListener("scroll", () => hidePopover(true), { passive: true });

  // A chip for citation n of `cites` (a Map n -> citation), or null to leave "[n]" as text.
  function chipFor(cites) {
    return (n) => {
      const c = cites.get(n);
      if (!c) return null;
      const chip = el("button", "chip", String(n));
      chip.type = "button";
      chip.dataset.n = String(n);
      chip.setAttribute("aria-label", `${T.citation} ${n}: ${c.title || ChajaRender.sourceLabel(c)}`);
      chip.addEventListener("mouseenter", () => pinned || showPopover(chip, c));
      chip.addEventListener("focus", () => pinned || showPopover(chip, c));
      chip.addEventListener("mouseleave", () => (hideTimer = setTimeout(() => hidePopover(false), 150)));
      chip.addEventListener("blur", () => hidePopover(false));
      chip.addEventListener("click", (e) => {
        e.stopPropagation();
        const href = ChajaRender.sourceHref(c);
        if (href) {
          window.open(href, "_blank", "noopener,noreferrer");
          return;
        }
        if (pinned === chip) return hidePopover(true);  // a second click unpins
        pinned = null;
        showPopover(chip, c);
        pinned = chip;
      });
      return chip;
    };
  }

  // ---- messages -----------------------------------------------------------------------------------
  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  function scrollDown(force) {
    if (force || atBottom()) list.scrollTop = list.scrollHeight;
  }

  function addUser(text) {
    const m = el("div", "msg user", text);
    list.append(m);
    scrollDown(true);
  }

  // An assistant message: the answer, then its sources and related questions. `a` holds
  // {text, citations (array, [n] is citations[n-1]), claims, related, error, detail}.
  function assistantView() {
    const m = el("div", "msg assistant");
    m.dataset.state = "streaming";
    m.setAttribute("aria-busy", "true");
    const status = el("div", "status");
    status.append(el("span", "dot"), el("span", "status-text", T.searching));
    status.hidden = true;
    const answer = el("div", "answer");
    const error = el("div", "error");
    error.hidden = true;
    m.append(status, answer, error);
    list.append(m);

    function setStatus(text) {
      status.hidden = !text;
      status.lastChild.textContent = text || "";
    }
    function renderAnswer(text, cites, claims) {
      const opts = { chip: chipFor(cites) };
      if (claims && claims.length) {
        opts.flags = ChajaRender.claimRanges(text, claims).filter((r) => r.claim.supported === false);
        opts.flagTitle = T.unsupported;
      }
      ChajaRender.renderMarkdown(answer, text, opts);
    }
    function showError(message, detail) {
      error.replaceChildren(el("div", "", message));
      if (detail && detail !== message) error.append(el("div", "error-detail", detail));
      error.hidden = false;
    }
    function finish(a, askFn) {
      m.dataset.state = a.error ? "error" : "done";
      m.removeAttribute("aria-busy");
      const cites = new Map((a.citations || []).map((c, i) => [i + 1, c]));
      renderAnswer(a.text || "", cites, a.claims);
      if (a.error) showError(a.error, a.detail);
      m.querySelectorAll(".sources, .related").forEach((x) => x.remove());
      if (a.citations && a.citations.length) {
        const ol = el("ol", "sources");
        ol.setAttribute("aria-label", T.sources);
        a.citations.forEach((c, i) => {
          const li = el("li");
          li.append(el("span", "n", String(i + 1)));
          const label = el("span", "label");
          const name = c.title || ChajaRender.sourceLabel(c);
          const href = ChajaRender.sourceHref(c);
          if (href) {
            const link = el("a", "", name);
            link.href = href;
            link.target = "_blank";
            link.rel = "noopener noreferrer nofollow";
            label.append(link);
          } else {
            label.append(document.createTextNode(name));
          }
          const from = ChajaRender.sourceLabel(c);
          if (from && from !== name) label.append(el("span", "from", " · " + from));
          label.title = name + (from && from !== name ? " · " + from : "");
          li.append(label);
          ol.append(li);
        });
        m.append(ol);
      }
      if (a.related && a.related.length && askFn) {
        const rel = el("div", "related");
        rel.append(el("div", "related-title", T.related));
        for (const q of a.related.slice(0, 3)) {
          const b = el("button", "", q);
          b.type = "button";
          b.addEventListener("click", () => askFn(q));
          rel.append(b);
        }
        m.append(rel);
      }
    }
    return { m, answer, setStatus, renderAnswer, showError, finish };
  }

  function renderAll() {
    hidePopover(true);
    list.replaceChildren();
    if (welcome) list.append(el("div", "msg welcome", welcome));
    for (const msg of state.messages) {
      if (msg.role === "user") addUser(msg.text);
      else assistantView().finish(msg, ask);
    }
    updateRelated();
    scrollDown(true);
  }

  // Only the newest answer's related questions are offered while nothing is streaming.
  function updateRelated() {
    const groups = list.querySelectorAll(".related");
    groups.forEach((g, i) => {
      g.hidden = i !== groups.length - 1;
      g.querySelectorAll("button").forEach((b) => (b.disabled = busy));
    });
  }

  // ---- asking -------------------------------------------------------------------------------------
  let busy = false;
  let controller = null;

  function setBusy(b) {
    busy = b;
    send.disabled = b || !input.value.trim();
    updateRelated();
  }

  async function ask(query) {
    query = String(query || "").trim();
    if (!query || busy) return false;
    open();
    hidePopover(true);
    setBusy(true);
    addUser(query);
    state.messages.push({ role: "user", text: query });
    save();

    const view = assistantView();
    view.setStatus(T.searching);
    scrollDown(true);
    const a = { role: "assistant", text: "", citations: [], related: [] };
    const live = new Map();  // n -> citation, from `citation` events, for chips while streaming
    let frame = 0;
    const paint = () => {
      frame = 0;
      const stick = atBottom();
      view.renderAnswer(a.text, live);
      if (stick) scrollDown(true);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(paint);
    };
    let finished = false;
    const fail = (message, detail) => {
      a.error = message;
      if (detail) a.detail = detail;
    };

    const my = (controller = new AbortController());
    try {
      const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
      if (token) headers.Authorization = "Bearer " + token;
      const body = { query, stream: true };
      if (collection) body.collection = collection;
      if (state.thread_id) body.thread_id = state.thread_id;
      let res;
      try {
        res = await fetch(server + "/v1/ask", {
          method: "POST",
          mode: "cors",
          credentials: "omit",
          headers,
          body: JSON.stringify(body),
          signal: my.signal,
        });
      } catch (e) {
        if (my.signal.aborted) return false;
        throw Object.assign(new Error(T.unreachable), { shown: true });
      }
      if (!res.ok) {
        let detail = "";
        try {
          const j = await res.json();
          detail = (j && j.error && j.error.message) || "";
        } catch (e) {}
        const message =
          res.status === 401 || res.status === 403
            ? T.unauthorized
            : res.status === 429 || res.status === 503
              ? T.busy
              : detail || T.failed;
        fail(message, detail);
        finished = true;
      } else {
        await ChajaSse.read(res.body, (event, raw) => {
          let d;
          try {
            d = JSON.parse(raw);
          } catch (e) {
            return;
          }
          switch (event) {
            case "step":
              view.setStatus(d.kind === "read" ? T.reading : T.searching);
              break;
            case "sources":
              view.setStatus(T.writing);
              break;
            case "citation":
              if (d && Number.isInteger(d.n)) live.set(d.n, d);
              break;
            case "delta":
              if (d && typeof d.text === "string") {
                view.setStatus("");
                a.text += d.text;
                schedule();
              }
              break;
            case "related":
              a.related = (d && d.related_questions) || [];
              break;
            case "done":
              finished = true;
              a.text = typeof d.answer === "string" ? d.answer : a.text;
              a.citations = Array.isArray(d.citations) ? d.citations : [];
              a.claims = Array.isArray(d.claims) ? d.claims : [];
              if (Array.isArray(d.related_questions)) a.related = d.related_questions;
              if (d.thread_id) state.thread_id = d.thread_id;
              break;
            case "error":
              finished = true;
              fail(T.failed, (d && d.error && d.error.message) || "");
              break;
          }
        });
        if (!finished) fail(T.cutOff);
      }
    } catch (e) {
      if (my.signal.aborted) return false;
      fail(e.shown ? e.message : T.failed, e.shown ? "" : String(e.message || e));
    } finally {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      if (controller === my) controller = null;
      if (!my.signal.aborted) {
        view.setStatus("");
        if (a.citations.length === 0 && live.size) a.citations = [...live.values()].sort((x, y) => x.n - y.n);
        view.finish(a, ask);
        state.messages.push(a);
        save();
        setBusy(false);
        scrollDown(false);
      }
    }
    return !a.error;
  }

  function newChat() {
    if (controller) controller.abort();
    controller = null;
    state.thread_id = "";
    state.messages = [];
    save();
    busy = false;
    renderAll();
    setBusy(false);
    input.focus({ preventScroll: true });
  }
  newBtn.addEventListener("click", newChat);

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value;
    if (!q.trim() || busy) return;
    input.value = "";
    grow();
    ask(q);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
    send.disabled = busy || !input.value.trim();
  }
  input.addEventListener("input", grow);

  // ---- start ----------------------------------------------------------------------------------------
  function mount() {
    document.body.append(host);
    setContrast();
    renderAll();
    setBusy(false);
    if (attr("open") === "true") open();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  if (!("ChajaWidget" in window)) {
    Object.defineProperty(window, "ChajaWidget", {
      value: Object.freeze({ open, close, toggle, ask: (q) => ask(q), newChat }),
      configurable: true,
    });
  }
})();
