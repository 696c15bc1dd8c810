// render.js: an answer's Markdown as DOM nodes, safely. Shared by the page (app.js) and the
// widget (widget.js); both bundles put marked (Debian's libjs-marked) just before this file.
//
// marked is used only as a lexer. Its tokens become elements built here with textContent, so no
// HTML from a model or a source is ever parsed: raw HTML in an answer shows as the text it is,
// links keep only http(s) and mailto targets, and images are never loaded (they show as links).
// "[n]" becomes a citation chip; spans of the answer can be flagged (unsupported claims).
const ChajaRender = (() => {
  const marked = module.exports;
  const SAFE_URL = /^(https?:\/\/|mailto:)/i;
  const FLAG_ON = "\uE000";
  const FLAG_OFF = "\uE001";
  const TOKENS = /\[(\d{1,3})\]|\uE000|\uE001/g;
  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };

  // marked escapes inline text for HTML output; text nodes want it back as it was written.
  const unescape = (s) => s.replace(/&(amp|lt|gt|quot|#39);/g, (m) => ENTITIES[m]);
  const stripFlags = (s) => s.replace(/[\uE000\uE001]/g, "");

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Text with "[n]" chips and flag marks, appended to parent. state.flagged carries a flag across
  // tokens, so a flagged sentence with bold or a link inside is marked piece by piece.
  function appendText(parent, text, state, chips = true) {
    let last = 0;
    const put = (s) => {
      if (!s) return;
      if (state.flagged) {
        const mark = el("mark", "unsupported", s);
        mark.title = state.flagTitle;
        parent.append(mark);
      } else {
        parent.append(document.createTextNode(s));
      }
    };
    TOKENS.lastIndex = 0;
    for (let m; (m = TOKENS.exec(text)); ) {
      put(text.slice(last, m.index));
      last = TOKENS.lastIndex;
      if (m[0] === FLAG_ON) state.flagged = true;
      else if (m[0] === FLAG_OFF) state.flagged = false;
      else {
        const chip = chips && state.chip ? state.chip(Number(m[1])) : null;
        if (chip) parent.append(chip);
        else put(m[0]);
      }
    }
    put(text.slice(last));
  }

  function inline(parent, tokens, state) {
    for (const t of tokens || []) {
      switch (t.type) {
        case "text":
          if (t.tokens) inline(parent, t.tokens, state);
          else appendText(parent, unescape(t.text), state);
          break;
        case "escape":
          appendText(parent, unescape(t.text), state);
          break;
        case "strong":
        case "em":
        case "del": {
          const e = el(t.type === "del" ? "del" : t.type === "em" ? "em" : "strong");
          inline(e, t.tokens, state);
          parent.append(e);
          break;
        }
        case "codespan": {
          const e = el("code");
          appendText(e, unescape(t.text), state, false);
          parent.append(e);
          break;
        }
        case "br":
          parent.append(el("br"));
          break;
        case "link": {
          if (!SAFE_URL.test(t.href || "")) {
            inline(parent, t.tokens, state);
            break;
          }
          const a = el("a");
          a.href = t.href;
          a.target = "_blank";
          a.rel = "noopener noreferrer nofollow";
          inline(a, t.tokens, state);
          parent.append(a);
          break;
        }
        case "image": {
          // Never loaded: an image in an answer could be a tracking pixel.
          const label = unescape(t.text || "") || t.href || "";
          if (SAFE_URL.test(t.href || "")) {
            const a = el("a", "image-link", label);
            a.href = t.href;
            a.target = "_blank";
            a.rel = "noopener noreferrer nofollow";
            parent.append(a);
          } else {
            appendText(parent, label, state, false);
          }
          break;
        }
        default:  // "html" and anything unknown: the characters as written
          appendText(parent, t.raw || t.text || "", state);
      }
    }
  }

  function blocks(parent, tokens, state) {
    for (const t of tokens || []) {
      switch (t.type) {
        case "space":
          break;
        case "paragraph": {
          const p = el("p");
          inline(p, t.tokens, state);
          parent.append(p);
          break;
        }
        case "text": {  // loose text in a list item
          const span = el("span");
          if (t.tokens) inline(span, t.tokens, state);
          else appendText(span, unescape(t.text), state);
          parent.append(span);
          break;
        }
        case "heading": {
          const h = el("h" + Math.min(6, t.depth + 2));
          inline(h, t.tokens, state);
          parent.append(h);
          break;
        }
        case "code": {
          const pre = el("pre");
          pre.append(el("code", "", stripFlags(t.text)));
          parent.append(pre);
          break;
        }
        case "blockquote": {
          const q = el("blockquote");
          blocks(q, t.tokens, state);
          parent.append(q);
          break;
        }
        case "list": {
          const list = el(t.ordered ? "ol" : "ul");
          if (t.ordered && Number(t.start) > 1) list.start = Number(t.start);
          for (const item of t.items) {
            const li = el("li");
            if (item.task) li.append(document.createTextNode(item.checked ? "☑ " : "☐ "));
            blocks(li, item.tokens, state);
            list.append(li);
          }
          parent.append(list);
          break;
        }
        case "table": {
          const wrap = el("div", "table-wrap");
          const table = el("table");
          const row = (cells, tag) => {
            const tr = el("tr");
            cells.forEach((cell, i) => {
              const td = el(tag);
              if (t.align[i]) td.style.textAlign = t.align[i];
              inline(td, cell.tokens, state);
              tr.append(td);
            });
            return tr;
          };
          const head = el("thead");
          head.append(row(t.header, "th"));
          const body = el("tbody");
          for (const r of t.rows) body.append(row(r, "td"));
          table.append(head, body);
          wrap.append(table);
          parent.append(wrap);
          break;
        }
        case "hr":
          parent.append(el("hr"));
          break;
        default: {  // block "html" and anything unknown: shown as text
          const p = el("p");
          appendText(p, (t.raw || t.text || "").trim(), state);
          parent.append(p);
        }
      }
    }
  }

  // Where each claim sits in the answer: [start, end) in the answer's own characters. A claim's
  // text is its sentence with the markers (and the spaces before them) taken out, so the answer
  // is matched with its markers skipped.
  function claimRanges(answer, claims) {
    const kept = [];  // the answer without markers, and where each kept character came from
    const from = [];
    const marker = /\s*\[\d{1,3}\]/y;
    for (let i = 0; i < answer.length; ) {
      marker.lastIndex = i;
      if (marker.test(answer)) {
        i = marker.lastIndex;
        continue;
      }
      kept.push(answer[i]);
      from.push(i);
      i++;
    }
    const text = kept.join("");
    const ranges = [];
    let searchFrom = 0;
    for (const c of claims || []) {
      if (!c || !c.text) continue;
      let at = text.indexOf(c.text, searchFrom);
      if (at < 0) at = text.indexOf(c.text);
      if (at < 0) continue;
      const end = at + c.text.length;
      ranges.push({ start: from[at], end: from[end - 1] + 1, claim: c });
      searchFrom = end;
    }
    return ranges;
  }

  // Renders `markdown` into root (replacing its children).
  //   opts.chip(n): an element for citation n, or null to leave "[n]" as text
  //   opts.flags: [{start, end}] spans of markdown to mark as unsupported (claimRanges)
  //   opts.flagTitle: the tooltip of a flagged span
  function renderMarkdown(root, markdown, opts = {}) {
    let text = String(markdown || "");
    const flags = (opts.flags || []).slice().sort((a, b) => b.start - a.start);
    for (const f of flags)
      text = text.slice(0, f.start) + FLAG_ON + text.slice(f.start, f.end) + FLAG_OFF + text.slice(f.end);
    const tokens = marked.lexer(text, { gfm: true, mangle: false, headerIds: false });
    const state = { flagged: false, chip: opts.chip, flagTitle: opts.flagTitle || "" };
    const frag = document.createDocumentFragment();
    blocks(frag, tokens, state);
    root.replaceChildren(frag);
  }

  // Where a citation comes from, for a person: a web page's domain, a local file's name.
  function sourceLabel(c) {
    if (!c) return "";
    if (c.kind === "web") {
      if (c.domain) return c.domain;
      try {
        return new URL(c.url || c.source).hostname;
      } catch (e) {
        return c.source || "";
      }
    }
    const s = String(c.source || "");
    return s.slice(s.lastIndexOf("/") + 1) || c.title || "";
  }

  // A link a citation may open directly: a web page's http(s) URL, else null.
  function sourceHref(c) {
    const u = c && (c.url || (c.kind === "web" ? c.source : ""));
    return u && /^https?:\/\//i.test(u) ? u : null;
  }

  // The hover card of a citation: title, where it is from, and its snippet.
  function citationCard(c) {
    const card = el("div", "cite-card");
    card.append(el("div", "cite-card-title", c.title || sourceLabel(c)));
    const from = el("div", "cite-card-from", sourceLabel(c));
    if (c.published) from.append(document.createTextNode(" · " + String(c.published).slice(0, 10)));
    card.append(from);
    if (c.snippet) card.append(el("div", "cite-card-snippet", c.snippet));
    return card;
  }

  return { renderMarkdown, claimRanges, sourceLabel, sourceHref, citationCard, el };
})();
