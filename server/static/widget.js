/*
 * shopbot chat widget: one dependency-free script a shop embeds with
 *   <script src="https://HOST/widget.js" data-endpoint="wss://HOST/v1/chat" data-token="TOKEN"></script>
 * It speaks WebSocket protocol v1 (docs/protocol.md). Everything lives in a Shadow DOM so the shop's CSS
 * cannot break it, and model output only ever becomes text nodes: never HTML.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script) return;  // module scripts have no currentScript: embed with a classic <script src>

  const MAX_BACKOFF_MS = 30000;
  const MAX_FRAME_BYTES = 65536;
  const MAX_SOURCES_SHOWN = 4;

  function dataAttr(name) {
    const value = (script.dataset[name] || "").trim();
    return value && !value.startsWith("__SHOPBOT_") ? value : "";
  }

  function defaultEndpoint() {
    const url = new URL("/v1/chat", script.src || location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  const config = {
    endpoint: dataAttr("endpoint") || defaultEndpoint(),
    token: dataAttr("token") || null,
    title: dataAttr("title") || "Shop assistant",
    currency: dataAttr("currency") || "USD",
  };

  /* Kind words for each error code of the protocol; the server's own text is shown for codes not listed. */
  const ERROR_TEXT = {
    message_too_long: "That message is too long for me. Please shorten it and send it again.",
    bad_frame: "Something went wrong sending that. Please try again.",
    empty_message: "Type a question first, then press Send.",
    rate_limited: "You're sending messages faster than I can keep up. Please wait a moment and try again.",
    busy: "I'm still answering your last question. Wait for it to finish, or press Stop.",
    overloaded: "Lots of shoppers are chatting right now. I'll reconnect in a moment.",
    unauthorized: "Your session has expired. Please refresh the page (and sign in again) to keep chatting.",
    forbidden: "I couldn't open that earlier conversation, so I started a fresh one for you.",
    not_found: "I couldn't find our earlier conversation, so I started a fresh one for you.",
    internal: "Sorry, something went wrong on our side. Please try again in a moment.",
  };
  const HANDOFF_TEXT = {
    waiting_for_agent: "I've asked a member of our team to join. They'll reply right here.",
    agent: "A member of our team has joined the chat.",
    bot: "You're chatting with the assistant again.",
  };

  const STYLE = `
    :host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
            font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2a1c; }
    * { box-sizing: border-box; }
    button { font: inherit; cursor: pointer; -webkit-tap-highlight-color: transparent; }
    button:focus-visible, textarea:focus-visible { outline: 3px solid #8cc152; outline-offset: 2px; }
    .launcher { width: 60px; height: 60px; border-radius: 50%; border: 0; background: #2f6b2a; color: #fff;
                box-shadow: 0 6px 18px rgba(0,0,0,.25); display: grid; place-items: center; }
    .launcher svg { width: 28px; height: 28px; }
    .launcher[aria-expanded="true"] { display: none; }
    .panel { position: fixed; right: 20px; bottom: 20px; width: 380px; height: min(600px, calc(100vh - 40px));
             display: flex; flex-direction: column; background: #fff; border-radius: 14px; overflow: hidden;
             box-shadow: 0 12px 40px rgba(0,0,0,.28); }
    .panel[hidden] { display: none; }
    header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: #2f6b2a; color: #fff; }
    .heading { flex: 1; min-width: 0; display: flex; flex-direction: column; }
    header h2 { margin: 0; font-size: 16px; font-weight: 600; flex: 1; }
    .status { font-size: 12px; opacity: .85; }
    .close { border: 0; background: transparent; color: #fff; font-size: 22px; line-height: 1; padding: 2px 6px; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; background: #f7f8f4; }
    .msg { max-width: 88%; padding: 8px 12px; border-radius: 12px; white-space: normal; overflow-wrap: anywhere; }
    .msg p { margin: 0 0 6px; } .msg p:last-child { margin-bottom: 0; }
    .msg ul, .msg ol { margin: 4px 0; padding-left: 20px; }
    .msg code { background: rgba(0,0,0,.06); padding: 0 3px; border-radius: 3px; }
    .user { align-self: flex-end; background: #2f6b2a; color: #fff; border-bottom-right-radius: 4px; }
    .bot, .agent { align-self: flex-start; background: #fff; border: 1px solid #e1e5da; border-bottom-left-radius: 4px; }
    .agent { border-color: #e0b84f; background: #fffaf0; }
    .who { display: block; font-size: 11px; font-weight: 600; color: #8a6d1f; margin-bottom: 2px; }
    .system { align-self: center; font-size: 13px; color: #5b6455; text-align: center; max-width: 95%; }
    .system.error { color: #9b2c1c; }
    .note { font-size: 12px; color: #6b7466; font-style: italic; margin-top: 4px; }
    .cards { display: flex; flex-direction: column; gap: 8px; margin-top: 8px; }
    .card { border: 1px solid #dfe4d6; border-radius: 10px; padding: 8px 10px; background: #fbfcf9; }
    .card .tag { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #2f6b2a; }
    .card .name { font-weight: 600; }
    .card .meta, .card .reason { font-size: 12.5px; color: #5b6455; }
    .card .row { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-top: 4px; }
    .card .price { font-weight: 600; }
    .add { border: 1px solid #2f6b2a; background: #2f6b2a; color: #fff; border-radius: 16px; padding: 3px 12px; font-size: 13px; }
    .add:disabled { background: #c9cfc3; border-color: #c9cfc3; cursor: default; }
    .sources { margin-top: 6px; font-size: 12px; color: #5b6455; }
    .sources span + span::before { content: " · "; }
    .feedback { display: flex; gap: 4px; margin-top: 6px; }
    .feedback button { border: 1px solid #dfe4d6; background: #fff; border-radius: 12px; padding: 0 8px; font-size: 14px; }
    .thanks { font-size: 12px; color: #5b6455; align-self: center; }
    .feedback button[aria-pressed="true"] { background: #e4f1d8; border-color: #2f6b2a; }
    .typing { align-self: flex-start; display: flex; gap: 4px; padding: 10px 12px; background: #fff;
              border: 1px solid #e1e5da; border-radius: 12px; }
    .typing[hidden] { display: none; }
    .typing i { width: 7px; height: 7px; border-radius: 50%; background: #8a9484; animation: blink 1.2s infinite; }
    .typing i:nth-child(2) { animation-delay: .2s; } .typing i:nth-child(3) { animation-delay: .4s; }
    @keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
    form { display: flex; align-items: flex-end; gap: 8px; padding: 10px; border-top: 1px solid #e1e5da; background: #fff; }
    textarea { flex: 1; resize: none; border: 1px solid #c9cfc3; border-radius: 10px; padding: 8px 10px;
               font: inherit; height: 42px; min-height: 42px; max-height: 120px; color: inherit; background: #fff; }
    .send, .stop { height: 42px; border: 0; border-radius: 10px; padding: 0 14px; color: #fff; background: #2f6b2a; }
    .send:disabled { background: #a9b5a3; cursor: default; }
    .stop { background: #9b2c1c; }
    .stop[hidden] { display: none; }
    @media (max-width: 480px) {
      :host { right: 12px; bottom: 12px; }
      .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
      .msg { max-width: 92%; }
    }
  `;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /* A tiny safe markdown subset (paragraphs, - and 1. lists, **bold**, `code`), built as DOM nodes. */
  function inline(text) {
    const out = document.createDocumentFragment();
    for (const part of text.split(/(\*\*[^*\n]+\*\*|`[^`\n]+`)/)) {
      if (!part) continue;
      if (part.startsWith("**") && part.endsWith("**") && part.length > 4) out.append(el("strong", { text: part.slice(2, -2) }));
      else if (part.startsWith("`") && part.endsWith("`") && part.length > 2) out.append(el("code", { text: part.slice(1, -1) }));
      else out.append(document.createTextNode(part));
    }
    return out;
  }

  function renderText(target, text) {
    const blocks = [];
    let list = null;
    for (const line of text.replace(/\r/g, "").split("\n")) {
      const item = line.match(/^\s*(?:[-*•]|(\d+)[.)])\s+(.*)$/);
      if (item) {
        const kind = item[1] ? "ol" : "ul";
        if (!list || list.localName !== kind) blocks.push((list = el(kind)));
        list.append(el("li", {}, [inline(item[2])]));
      } else if (!line.trim()) {
        list = null;
        blocks.push(null);
      } else {
        list = null;
        const last = blocks[blocks.length - 1];
        if (last && last.localName === "p") last.append(el("br"), inline(line));
        else blocks.push(el("p", {}, [inline(line)]));
      }
    }
    target.replaceChildren(...blocks.filter(Boolean));
  }

  /* An SVG speech bubble: the launcher must not depend on the visitor having an emoji font. */
  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  /* Conversations are remembered per endpoint and per signed-in identity, so a shared tab never mixes them. */
  function storageKey() {
    let who = "anonymous";
    if (config.token) {
      who = "token";
      try {
        const claims = JSON.parse(atob(config.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        who = String(claims.sub || claims.customer_id || "token");
      } catch (e) { /* an opaque token: one slot for signed-in use */ }
    }
    return "shopbot:" + config.endpoint + ":" + who;
  }

  const store = {
    get(name) { try { return sessionStorage.getItem(storageKey() + ":" + name); } catch (e) { return null; } },
    set(name, value) {
      try {
        if (value === null) sessionStorage.removeItem(storageKey() + ":" + name);
        else sessionStorage.setItem(storageKey() + ":" + name, value);
      } catch (e) { /* storage disabled: the conversation simply isn't restored */ }
    },
  };

  class Widget {
    constructor(host) {
      this.host = host;
      this.root = host.attachShadow({ mode: "open" });
      this.ws = null;
      this.ready = false;
      this.attempt = 0;
      this.retryTimer = 0;
      this.outbox = [];
      this.answers = new Map();
      this.pending = null;
      this.pendingAnswer = null;
      this.refused = null;
      this.state = "bot";
      this.conversationId = store.get("conversation");
      this.build();
      if (this.conversationId || store.get("open") === "1") this.connect();
      if (store.get("open") === "1") this.open(false);
    }

    build() {
      const titleId = "shopbot-title";
      this.launcher = el("button", { class: "launcher", type: "button", "aria-label": "Open chat with " + config.title,
                                     "aria-expanded": "false", "aria-controls": "shopbot-panel" }, [chatIcon()]);
      this.status = el("span", { class: "status", role: "status" });
      this.closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat", text: "×" });
      this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
      this.typing = el("div", { class: "typing", role: "status", "aria-label": "The assistant is typing" },
                       [el("i"), el("i"), el("i")]);
      this.typing.hidden = true;
      this.input = el("textarea", { rows: "1", placeholder: "Type your question…",
                                    "aria-label": "Your message" });
      this.sendButton = el("button", { class: "send", type: "submit", "aria-label": "Send message", text: "Send" });
      this.stopButton = el("button", { class: "stop", type: "button", "aria-label": "Stop the answer", text: "Stop" });
      this.stopButton.hidden = true;
      this.form = el("form", {}, [this.input, this.stopButton, this.sendButton]);
      this.panel = el("div", { class: "panel", id: "shopbot-panel", role: "dialog", "aria-labelledby": titleId }, [
        el("header", {}, [el("div", { class: "heading" }, [el("h2", { id: titleId, text: config.title }), this.status]),
                          this.closeButton]),
        this.log,
        this.form,
      ]);
      this.panel.hidden = true;
      this.log.append(this.typing);
      this.root.append(el("style", { text: STYLE }), this.launcher, this.panel);

      this.launcher.addEventListener("click", () => this.open(true));
      this.closeButton.addEventListener("click", () => this.close());
      this.stopButton.addEventListener("click", () => { this.send({ type: "stop" }); this.input.focus(); });
      this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
      this.input.addEventListener("input", () => this.fitInput());
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
      });
      this.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.close(); });
    }

    open(focus) {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      store.set("open", "1");
      if (!this.ws) this.connect();
      if (focus) this.input.focus();
      this.scroll();
    }

    close() {
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      store.set("open", null);
      this.launcher.focus();
    }

    fitInput() {
      this.input.style.height = "auto";
      this.input.style.height = Math.min(this.input.scrollHeight + 2, 120) + "px";
    }

    setStatus(text) { this.status.textContent = text; }

    /* ---- connection ---- */

    connect() {
      clearTimeout(this.retryTimer);
      this.ready = false;
      this.setStatus(this.attempt ? "Reconnecting…" : "Connecting…");
      const ws = new WebSocket(config.endpoint);
      this.ws = ws;
      ws.onopen = () => {
        const hello = { type: "hello" };
        if (config.token) hello.token = config.token;
        if (this.conversationId) hello.conversation_id = this.conversationId;
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (event) => {
        let data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data && typeof data.type === "string") this.handle(data);
      };
      ws.onclose = (event) => { if (this.ws === ws) this.closed(event); };
    }

    /* Close codes as docs/protocol.md asks: 1000 waits for the shopper, 1008 never retries as is, others back off. */
    closed(event) {
      this.ws = null;
      this.ready = false;
      this.finishGenerating();
      if (this.refused === "unauthorized" || (event.code === 1008 && !this.refused)) {
        this.setStatus("Disconnected");
        if (!this.refused) this.notice("Sorry, the chat can't connect from this page right now.", true);
        this.refused = null;
        return;
      }
      if (this.refused) {  // forbidden / not_found: the stored conversation is not ours to resume
        this.refused = null;
        this.conversationId = null;
        store.set("conversation", null);
        this.connect();
        return;
      }
      if (event.code === 1000) { this.setStatus("Paused: send a message to carry on"); return; }
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      this.attempt += 1;
      this.setStatus("Offline: reconnecting in " + Math.ceil(delay / 1000) + " s…");
      this.retryTimer = setTimeout(() => this.connect(), delay);
    }

    send(message) {
      if (this.ws && this.ready && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify(message));
        return;
      }
      if (message.type !== "message") return;
      this.outbox.push(message);
      if (!this.ws) { this.attempt = 0; this.connect(); }
    }

    submit() {
      const text = this.input.value.trim();
      if (!text || this.pending) return;
      const message = { type: "message", text: text, client_msg_id: newId() };
      if (new TextEncoder().encode(JSON.stringify(message)).length > MAX_FRAME_BYTES) {
        this.notice(ERROR_TEXT.message_too_long, true);
        return;
      }
      this.input.value = "";
      this.fitInput();
      this.input.focus();
      this.bubble("user", text).dataset.clientMsgId = message.client_msg_id;
      this.startGenerating(message);
      this.send(message);
    }

    /* ---- server events ---- */

    handle(event) {
      const handler = this["on_" + event.type];
      if (handler) handler.call(this, event);
    }

    on_ready(event) {
      this.ready = true;
      this.attempt = 0;
      this.conversationId = event.conversation_id;
      store.set("conversation", event.conversation_id);
      this.state = event.state || "bot";
      this.customer = event.customer || null;
      this.showState();
    }

    /* Always right after `ready`: whole stored messages only, so the log is redrawn from it. */
    on_history(event) {
      const waiting = this.outbox.splice(0);
      this.finishGenerating();
      for (const node of this.log.querySelectorAll(".msg, .system")) node.remove();
      this.answers.clear();
      for (const m of event.messages || []) {
        if (m.role === "user") this.bubble("user", m.text || "");
        else if (m.role === "agent") this.on_agent_message(m);
        else if (m.role === "assistant") {
          const id = m.message_id;
          for (const tool of m.tools || []) if (tool && tool.items) this.on_tool({ message_id: id, name: tool.name, items: tool.items });
          this.on_citations({ message_id: id, sources: m.sources });
          this.on_delta({ message_id: id, text: m.text || "" });
          this.on_end({ message_id: id, finish_reason: m.status === "interrupted" ? "cancelled" : "stop" });
        }
      }
      for (const message of waiting) {
        this.bubble("user", message.text).dataset.clientMsgId = message.client_msg_id;
        this.startGenerating(message);
        this.send(message);
      }
      this.scroll();
    }

    /* After `start`, while every generation slot of the server is busy. */
    on_queued(event) {
      if (event.message_id === this.pendingAnswer) {
        this.queued = true;
        this.setStatus(event.position > 1 ? "You're number " + event.position + " in line…" : "You're next in line…");
      }
    }

    on_start(event) {
      if (event.client_msg_id === this.pending) this.pendingAnswer = event.message_id;
      this.answer(event.message_id);
      this.showState();
    }

    on_tool(event) {
      const items = (event.items || []).filter((item) => item && item.id !== undefined && item.name);
      if (!items.length) return;
      const a = this.answer(event.message_id);
      a.el.insertBefore(this.cards(items, event.name), a.sources);
      this.scroll();
    }

    on_citations(event) {
      const sources = (event.sources || []).filter((s) => s && s.title);
      if (!sources.length) return;
      const a = this.answer(event.message_id);
      const shown = sources.slice(0, MAX_SOURCES_SHOWN).map((s) => el("span", { text: s.title }));
      const rest = sources.slice(MAX_SOURCES_SHOWN).map((s) => s.title);
      if (rest.length) shown.push(el("span", { text: "+" + rest.length + " more", title: rest.join(", ") }));
      a.sources.replaceChildren(document.createTextNode("Sources: "), ...shown);
      a.sources.hidden = false;
    }

    on_delta(event) {
      const a = this.answer(event.message_id);
      if (typeof event.seq === "number") {
        if (event.seq <= a.seq) return;
        a.seq = event.seq;
      }
      a.text += event.text;
      if (this.queued) { this.queued = false; this.showState(); }
      renderText(a.body, a.text);
      a.el.dataset.deltas = String(Number(a.el.dataset.deltas || 0) + 1);
      this.typing.hidden = true;
      this.scroll();
    }

    on_end(event) {
      const a = this.answer(event.message_id);
      if (!a.text.trim()) renderText(a.body, event.finish_reason === "cancelled" ? "" : "…");
      if (event.finish_reason === "cancelled") a.el.append(el("div", { class: "note", text: "Stopped before the end." }));
      a.el.dataset.done = "true";
      a.el.dataset.finishReason = event.finish_reason || "";
      a.el.append(this.feedback(event.message_id));
      if (event.message_id !== undefined && this.pendingAnswer === event.message_id) this.finishGenerating();
      this.scroll();
    }

    on_forwarded(event) {
      if (event.client_msg_id === this.pending) this.finishGenerating();
      this.state = event.state || this.state;
      this.showState();
    }

    on_error(event) {
      const kind = ERROR_TEXT[event.code];
      const text = kind || event.message || ERROR_TEXT.internal;
      if (event.code === "overloaded") this.notice(kind, false);
      else if (!["unauthorized", "forbidden", "not_found"].includes(event.code) || !this.ready) this.notice(text, true);
      if (!this.ready && ["unauthorized", "forbidden", "not_found"].includes(event.code)) this.refused = event.code;
      if (event.client_msg_id && event.client_msg_id === this.pending) {
        const refused = this.root.querySelector('[data-client-msg-id="' + window.CSS.escape(event.client_msg_id) + '"]');
        if (refused && !this.pendingAnswer) {  // never stored: hand the text back for editing
          refused.remove();
          if (!this.input.value) this.input.value = this.pendingText;
          this.fitInput();
        }
        this.finishGenerating();
      } else if (event.code === "internal") this.finishGenerating();
    }

    on_handoff(event) {
      this.state = event.state || this.state;
      const text = HANDOFF_TEXT[this.state];
      if (text) this.notice(text, false);
      this.showState();
    }

    on_agent_message(event) {
      const node = this.bubble("agent", event.text || "");
      node.prepend(el("span", { class: "who", text: event.agent_name || "Shop team" }));
    }

    on_feedback_ok(event) {
      const a = this.answers.get(event.message_id);
      const thanks = a && a.el.querySelector(".thanks");
      if (thanks) thanks.textContent = "Thanks for the feedback!";
    }

    on_pong() {}

    showState() {
      if (!this.ready) return;
      const who = this.customer ? " · signed in as " + (this.customer.name || this.customer.id) : "";
      if (this.state === "waiting_for_agent") this.setStatus("Waiting for a team member…");
      else if (this.state === "agent") this.setStatus("Chatting with our team");
      else this.setStatus("Online" + who);
    }

    /* ---- rendering ---- */

    answer(messageId) {
      let a = this.answers.get(messageId);
      if (!a) {
        const body = el("div", { class: "body" });
        const sources = el("div", { class: "sources", "aria-label": "Sources" });
        sources.hidden = true;
        const node = el("div", { class: "msg bot", "data-message-id": String(messageId) }, [body, sources]);
        this.log.insertBefore(node, this.typing);
        a = { el: node, body: body, sources: sources, text: "", seq: -1 };
        this.answers.set(messageId, a);
      }
      return a;
    }

    bubble(role, text) {
      const node = el("div", { class: "msg " + role });
      renderText(node, text);
      this.log.insertBefore(node, this.typing);
      this.scroll();
      return node;
    }

    notice(text, isError) {
      const node = el("div", { class: "system" + (isError ? " error" : ""), role: isError ? "alert" : "status", text: text });
      this.log.insertBefore(node, this.typing);
      this.scroll();
    }

    cards(items, toolName) {
      const label = toolName === "suggest_reorder" ? "Suggested reorders" : "Suggested products";
      const list = el("div", { class: "cards", role: "list", "aria-label": label });
      for (const item of items) {
        const add = el("button", { class: "add", type: "button", text: "Add to cart",
                                   "aria-label": "Add " + item.name + " to cart" });
        if (item.in_stock === false) { add.disabled = true; add.textContent = "Out of stock"; }
        add.addEventListener("click", () => {
          this.host.dispatchEvent(new CustomEvent("shopbot:add-to-cart", { detail: item, bubbles: true, composed: true }));
          add.textContent = "Added ✓";
          setTimeout(() => { add.textContent = "Add to cart"; }, 1500);
        });
        const meta = [item.brand, item.size].filter(Boolean).join(" · ");
        const tag = item.kind === "complement" ? "Goes well with" : item.kind === "reorder" ? "Reorder" : "";
        list.append(el("div", { class: "card", role: "listitem", "data-product-id": String(item.id), "data-kind": item.kind || "" }, [
          tag ? el("div", { class: "tag", text: tag }) : null,
          el("div", { class: "name", text: item.name }),
          meta ? el("div", { class: "meta", text: meta }) : null,
          item.reason ? el("div", { class: "reason", text: item.reason }) : null,
          el("div", { class: "row" }, [el("span", { class: "price", text: price(item.price) }), add]),
        ]));
      }
      return list;
    }

    feedback(messageId) {
      const bar = el("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" });
      for (const [rating, label, face] of [["up", "Helpful", "👍"], ["down", "Not helpful", "👎"]]) {
        const button = el("button", { type: "button", "aria-label": label, "aria-pressed": "false", text: face });
        button.addEventListener("click", () => {
          for (const b of bar.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
          this.send({ type: "feedback", message_id: messageId, rating: rating });
        });
        bar.append(button);
      }
      bar.append(el("span", { class: "thanks", role: "status" }));
      return bar;
    }

    startGenerating(message) {
      this.pending = message.client_msg_id;
      this.pendingText = message.text;
      this.pendingAnswer = null;
      this.sendButton.disabled = true;
      if (this.state === "bot") {
        this.stopButton.hidden = false;
        this.typing.hidden = false;
      }
      this.scroll();
    }

    finishGenerating() {
      const hadFocus = this.root.activeElement === this.stopButton;
      this.pending = null;
      this.pendingAnswer = null;
      this.queued = false;
      this.sendButton.disabled = false;
      this.stopButton.hidden = true;
      this.typing.hidden = true;
      this.showState();
      if (hadFocus) this.input.focus();
    }

    scroll() { this.log.scrollTop = this.log.scrollHeight; }
  }

  function price(value) {
    if (typeof value !== "number") return "";
    try { return new Intl.NumberFormat(undefined, { style: "currency", currency: config.currency }).format(value); }
    catch (e) { return value.toFixed(2); }
  }

  function start() {
    if (document.querySelector("shopbot-widget")) return;
    const host = document.createElement("shopbot-widget");
    document.body.append(host);
    new Widget(host);
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
