// regurgitate trace: the page's script. Every text from the model, the corpus or the user
// reaches the DOM through textContent / text nodes (never innerHTML); links are written only
// for http(s) URLs. Offsets from the server count Unicode code points, so texts are cut as
// arrays of code points.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { key: sessionStorage.getItem("trace-key") || null, answers: [],
                  conversation: [], busy: 0, info: null };
  const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
    }
    return node;
  }

  // text with control, invisible and bidi characters shown as markers
  function visibleText(s) {
    const frag = document.createDocumentFragment();
    let run = "";
    for (const ch of s) {
      if (CONTROL.test(ch) && ch !== "\n" && ch !== "\t") {
        if (run) { frag.append(run); run = ""; }
        const code = ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
        frag.append(el("span", { class: "ctl", title: "U+" + code }, "\u27e8U+" + code + "\u27e9"));
      } else run += ch;
    }
    if (run) frag.append(run);
    return frag;
  }

  function safeLink(url, label) {
    try {
      const u = new URL(String(url || "").trim());
      if (u.protocol === "http:" || u.protocol === "https:")
        return el("a", { href: u.href, rel: "noopener noreferrer", target: "_blank" }, label);
    } catch (e) { /* not a URL: the label alone */ }
    return document.createTextNode(label);
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setStatus(message) { $("status").textContent = message; }

  async function api(path, body) {
    const headers = {};
    if (state.key) headers["Authorization"] = "Bearer " + state.key;
    const opts = { method: body === undefined ? "GET" : "POST", headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new Error("the trace server cannot be reached (" + e.message + ")");
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (resp.status === 401) { $("key-form").hidden = false; }
    if (!resp.ok) {
      const msg = data && typeof data.error === "string" ? data.error : "HTTP " + resp.status;
      const err = new Error(msg);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  async function busy(label, work) {
    state.busy += 1;
    setStatus(label);
    showError("");
    document.body.dataset.busy = String(state.busy);
    try {
      return await work();
    } catch (e) {
      showError(e.message);
      return null;
    } finally {
      state.busy -= 1;
      document.body.dataset.busy = String(state.busy);
      if (!state.busy) setStatus("");
    }
  }

  // ---- rendering one answer

  function segments(n, marks) {
    const cuts = new Set([0, n]);
    for (const m of marks) { cuts.add(Math.max(0, Math.min(n, m.start))); cuts.add(Math.max(0, Math.min(n, m.end))); }
    const sorted = Array.from(cuts).sort((a, b) => a - b);
    const out = [];
    for (let i = 0; i + 1 < sorted.length; i++) {
      const a = sorted[i], b = sorted[i + 1];
      out.push({ start: a, end: b, marks: marks.filter((m) => m.start <= a && b <= m.end) });
    }
    return out;
  }

  function renderText(answer, card) {
    const chars = Array.from(answer.text);
    const marks = [];
    for (const item of answer.ranked) marks.push({ kind: "span", start: item.start, end: item.end, item });
    for (const p of answer.near || []) marks.push({ kind: "near", start: p.start, end: p.end, p });
    for (const p of answer.pii) marks.push({ kind: "pii", start: p.start, end: p.end, p });
    const box = el("div", { class: "text" });
    for (const seg of segments(chars.length, marks)) {
      const text = chars.slice(seg.start, seg.end).join("");
      let node = visibleText(text);
      const pii = seg.marks.find((m) => m.kind === "pii");
      if (pii) {
        node = el("span", { class: "pii" + (pii.p.leaked ? " leaked" : ""),
          title: pii.p.type + (pii.p.leaked ? ": found in the corpus" : ": not in the corpus") +
                 (pii.p.in_span ? ", inside a verbatim span" : "") }, node);
      }
      const spans = seg.marks.filter((m) => m.kind === "span").map((m) => m.item);
      if (spans.length) {
        spans.sort((a, b) => a.rank - b.rank);
        const top = spans[0];
        node = el("mark", { class: "span d" + Math.min(spans.length, 3),
          title: spans.map((s) => s.tokens + " " + answer.unit + ", " + s.count + "\u00d7 in the corpus").join("; "),
          dataset: { start: seg.start, end: seg.end, rank: top.rank },
          onclick: () => showSources(answer, top, card) }, node);
      }
      const near = seg.marks.find((m) => m.kind === "near");
      if (near) {
        node = el("span", { class: "near", title: "near-verbatim passage: edit similarity " +
          Number(near.p.edit_similarity).toFixed(2) + " to " + near.p.works.join(", ") + " over " +
          near.p.tokens + " tokens" }, node);
      }
      box.append(node);
    }
    return box;
  }

  function spanDocs(answer, item) {
    const c = answer.check;
    return item.kind === "span" ? c.spans[item.index] : c.runs[item.index].span;
  }

  function spanTable(answer, card) {
    const unit = answer.unit;
    const table = el("table", { class: "spans" },
      el("tr", {}, el("th", {}, "#"), el("th", {}, "characters"), el("th", {}, unit),
         el("th", {}, "count"), el("th", {}, "sources")));
    for (const item of answer.ranked) {
      const s = spanDocs(answer, item);
      const kind = item.kind === "run" ? " (periodic run of " + answer.check.runs[item.index].spans + " spans)" : "";
      table.append(el("tr", { class: "span-item", dataset: { start: item.start, end: item.end,
          tokens: item.tokens, count: item.count, rank: item.rank, kind: item.kind },
          onclick: () => showSources(answer, item, card) },
        el("td", { class: "n" }, item.rank),
        el("td", {}, item.start + "\u2013" + item.end + kind),
        el("td", { class: "n" }, item.tokens),
        el("td", { class: "n" }, item.count.toLocaleString("en")),
        el("td", { class: "doc-list" }, s.sources.join(", ") +
           (item.count > s.sources.length ? " \u2026" : ""))));
    }
    return table;
  }

  function figures(answer) {
    const m = answer.membership;
    if (!m) return null;
    const rows = [["loss (mean NLL, nats/token)", m.loss], ["perplexity", m.perplexity],
                  ["zlib ratio (loss / zlib bytes)", m.zlib], ["min-20% (mean of lowest log-probs)", m.min_k],
                  ["min-20%++", m.min_k_plus_plus]];
    const t = el("table", { class: "figures" });
    for (const [label, v] of rows) {
      if (v === null || v === undefined) continue;
      const x = Number(v);
      const shown = x !== 0 && Math.abs(x) < 0.01 ? x.toExponential(2) : x.toFixed(3);
      t.append(el("tr", {}, el("td", {}, label), el("td", {}, shown)));
    }
    return el("details", { class: "membership", open: true },
      el("summary", {}, "Membership signals of this answer (from the target's log-probabilities)"),
      t, el("p", { class: "dim" }, "Figures of one text, not a verdict: membership is a " +
        "set-level test (regurgitate scan's membership evidence compares many texts with controls)."));
  }

  function renderAnswer(answer) {
    const card = el("article", { class: "answer", id: "answer-" + answer.id, dataset: { answer: answer.id } });
    const c = answer.check;
    const pct = (100 * c.covered_share).toFixed(1);
    const head = answer.pasted ? "Pasted text" : "Model answer (" + answer.prompt.form + ")";
    card.append(el("h3", {}, head + " \u00b7 " + c.tokens.toLocaleString("en") + " " + answer.unit +
      " \u00b7 " + c.span_count + " verbatim span(s) of \u2265 " + c.min_tokens + " " + answer.unit +
      " covering " + pct + "% \u00b7 traced in " + answer.server_ms + " ms"));
    if (!answer.pasted) {
      const p = answer.prompt;
      const shown = p.form === "chat" ? p.messages.map((m) => m.role + ": " + m.content).join("\n") : p.text;
      card.append(el("div", { class: "prompt" }, visibleText(shown)));
    }
    card.append(renderText(answer, card));
    card.append(el("p", { class: "verdict pending" }, "Comparing the text with whole works\u2026"));
    if (answer.ranked.length) card.append(spanTable(answer, card));
    const fig = figures(answer);
    if (fig) card.append(fig);
    if (answer.pii.length) {
      card.append(el("p", { class: "dim" }, "PII: " + answer.pii.map((p) => p.type + " " +
        (p.leaked ? "(in the corpus" + (p.count ? ", " + p.count + "\u00d7" : "") + ")" : "(not in the corpus)") +
        (p.in_span ? " inside a verbatim span" : "")).join("; ")));
    }
    const packets = el("span", { class: "packets" });
    card.append(el("div", { class: "row" },
      el("button", { type: "button", class: "evidence-btn", onclick: () => evidence(answer, packets) },
         "Evidence packet"), packets));
    return card;
  }

  function addAnswer(answer) {
    state.answers.push(answer);
    const card = renderAnswer(answer);
    $("answers").prepend(card);
    $("save-btn").disabled = false;
    document.body.dataset.answers = String(state.answers.length);
    addWorks(answer, card);
  }

  // the closeness figures (works, verdict, near-verbatim passages), asked for after the spans
  async function addWorks(answer, card) {
    const verdict = card.querySelector(".verdict");
    let data;
    try {
      data = await api("/api/works", { answer: answer.id });
    } catch (e) {
      verdict.textContent = "Works not compared: " + e.message;
      verdict.classList.remove("pending");
      return;
    }
    answer.near = data.near;
    answer.check.works = data.works;
    answer.check.verdict = data.verdict;
    verdict.textContent = data.verdict;
    verdict.classList.remove("pending");
    card.querySelector(".text").replaceWith(renderText(answer, card));
    if (data.near.length) {
      verdict.after(el("p", { class: "dim near-list" }, "Near-verbatim passages: " + data.near.map((p) =>
        "characters " + p.start + "\u2013" + p.end + " (" + p.tokens + " " + answer.unit + ", edit similarity " +
        Number(p.edit_similarity).toFixed(2) + " to " + p.works.slice(0, 3).join(", ") +
        (p.works.length > 3 ? " +" + (p.works.length - 3) : "") + ")").join("; ")));
    }
    card.dataset.works = "1";
  }

  // ---- sources

  async function showSources(answer, item, card) {
    for (const m of document.querySelectorAll("mark.span.selected")) m.classList.remove("selected");
    for (const m of card.querySelectorAll("mark.span")) {
      if (Number(m.dataset.start) >= item.start && Number(m.dataset.end) <= item.end) m.classList.add("selected");
    }
    const s = spanDocs(answer, item);
    const data = await busy("Reading the sources…", () => api("/api/sources", {
      answer: answer.id, token_start: s.token_start, token_end: s.token_end, documents: s.doc_ids }));
    if (!data) return;
    const panel = $("sources");
    panel.replaceChildren(el("h2", {}, "Sources"));
    const chars = Array.from(answer.text);
    panel.append(el("p", {}, data.tokens + " " + answer.unit + ", " + data.count.toLocaleString("en") +
      "\u00d7 in the corpus" + (data.count > data.sources.length ? " (first " + data.sources.length + " documents)" : "")));
    panel.append(el("div", { class: "ctx" }, visibleText(chars.slice(s.start, s.end).join(""))));
    if (s.window && s.window.count > s.count) {
      panel.append(el("p", { class: "dim" }, "Its most repeated " + s.window.tokens + "-" + answer.unit.replace(/s$/, "") +
        " window occurs " + s.window.count.toLocaleString("en") + "\u00d7 (" + s.window.sources.join(", ") + ")"));
    }
    const list = el("div", { id: "source-list", dataset: { answer: answer.id, rank: item.rank } });
    for (const src of data.sources) {
      const title = src.title ? el("span", { class: "dim" }, " " + src.title) : null;
      const ctx = src.match !== undefined
        ? el("div", { class: "ctx" }, "\u2026", visibleText(src.before), el("mark", {}, visibleText(src.match)),
             visibleText(src.after), "\u2026")
        : el("div", { class: "dim" }, "(not located among its first occurrences)");
      list.append(el("div", { class: "source", dataset: { doc: src.id } },
        el("div", { class: "doc-id" }, safeLink(src.url, src.id)), title, ctx));
    }
    panel.append(list);
  }

  // ---- evidence and saving

  async function evidence(answer, where) {
    const data = await busy("Building the evidence packet…", () => api("/api/evidence", { answer: answer.id }));
    if (!data) return;
    where.replaceChildren();
    if (!data.packets.length) {
      where.append(el("span", { class: "dim" }, "no verbatim span of \u2265 " + answer.check.min_tokens +
        " " + answer.unit + ": no packet"));
      return;
    }
    for (const p of data.packets) {
      const stem = answer.id + "-" + String(p.sequence).padStart(4, "0");
      const html = p.html;
      const json = Object.assign({}, p);
      delete json.html;
      const jurl = URL.createObjectURL(new Blob([JSON.stringify(json, null, 1)], { type: "application/json" }));
      const hurl = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      where.append(el("a", { href: jurl, download: stem + ".json", class: "packet-json" }, stem + ".json"),
                   el("a", { href: hurl, download: stem + ".html" }, stem + ".html"));
    }
  }

  async function save() {
    const name = $("run-name").value.trim();
    const data = await busy("Saving the session…", () => api("/api/save",
      { answers: state.answers.map((a) => a.id), name: name || null }));
    if (!data) return;
    $("saved").textContent = "Saved " + data.answers + " answer(s) to " + data.path + " \u2014 open it with: " + data.report;
  }

  // ---- asking and tracing

  function decoding() {
    const out = {};
    for (const id of ["max_new_tokens", "temperature", "top_p", "top_k", "seed", "repetition_penalty"]) {
      const v = $(id).value.trim();
      if (v !== "") out[id] = Number(v);
    }
    out.greedy = $("greedy").checked;
    return out;
  }

  async function traceText(text) {
    const data = await busy("Tracing…", () => api("/api/trace", { text }));
    if (data) addAnswer(data);
  }

  async function ask(promptText) {
    const form = $("form").value;
    const body = { form, settings: decoding() };
    let messages = null;
    if (form === "chat") {
      messages = state.conversation.concat([{ role: "user", content: promptText }]);
      body.messages = messages;
    } else body.prompt = promptText;
    const data = await busy("Asking the model…", () => api("/api/chat", body));
    if (!data) return;
    if (messages) state.conversation = messages.concat([{ role: "assistant", content: data.text }]);
    addAnswer(data);
  }

  function selectTab(chat) {
    $("tab-chat").setAttribute("aria-selected", String(chat));
    $("tab-paste").setAttribute("aria-selected", String(!chat));
    $("chat-form").hidden = !chat;
    $("paste-form").hidden = chat;
  }

  async function loadInfo() {
    try {
      const info = await api("/api/info");
      state.info = info;
      $("key-form").hidden = true;
      const idx = info.index;
      $("setup").textContent = "Target: " + (info.target || "none (paste text only)") + " \u00b7 index: " +
        (idx.spec || "none") + (idx.ok ? " (" + Number(idx.documents).toLocaleString("en") + " documents, " +
        Number(idx.tokens).toLocaleString("en") + " " + idx.unit + ")" : "") + " \u00b7 spans of \u2265 " +
        info.settings.min_tokens + " tokens, texts up to " + info.settings.max_chars.toLocaleString("en") + " characters";
      $("banner").hidden = idx.ok;
      $("banner").textContent = idx.ok ? "" : "The index cannot be used: " + idx.error;
      if (!info.target) { $("tab-chat").disabled = true; selectTab(false); }
      return true;
    } catch (e) {
      $("setup").textContent = "";
      showError(e.message);
      return false;
    }
  }

  async function start() {
    $("tab-chat").addEventListener("click", () => selectTab(true));
    $("tab-paste").addEventListener("click", () => selectTab(false));
    $("new-chat").addEventListener("click", () => { state.conversation = []; setStatus("New chat started."); });
    $("save-btn").addEventListener("click", save);
    $("chat-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = $("prompt").value;
      if (!p.trim()) { showError("Write a prompt first."); return; }
      ask(p);
    });
    $("paste-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("paste-text").value;
      if (!t.trim()) { showError("Paste some text first."); return; }
      traceText(t);
    });
    $("key-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      state.key = $("key").value.trim() || null;
      if (state.key) sessionStorage.setItem("trace-key", state.key);
      if (await loadInfo()) await fromLink();
    });
    if (await loadInfo()) await fromLink();
    document.body.dataset.ready = "1";
  }

  async function fromLink() {
    const q = new URLSearchParams(location.search);
    if (q.has("text")) {
      selectTab(false);
      $("paste-text").value = q.get("text");
      await traceText(q.get("text"));
    } else if (q.has("prompt")) {
      selectTab(true);
      if (q.get("form") === "completion") $("form").value = "completion";
      $("prompt").value = q.get("prompt");
      await ask(q.get("prompt"));
    }
  }

  start();
})();
