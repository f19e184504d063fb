// The inbox page: a live list of the capture server's mail (server-sent
// events, no reload), a message view and the fault injection panel. No
// framework. Everything that comes from a message is put into the page as
// text (textContent, attribute values), never as markup; the HTML body
// lives in a sandboxed srcdoc frame under its own Content-Security-Policy.
"use strict";

const state = {
  /** Summaries, newest first. */
  messages: [],
  selected: null,
  details: null,
  tab: null,
  remote: false,
  filter: "",
  max: 500,
};

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(
      typeof child === "string" ? document.createTextNode(child) : child,
    );
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error ?? message;
    } catch {
      // not JSON
    }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function mailbox(list) {
  if (!list || list.length === 0) return "";
  return list.map((m) => m.name ? `${m.name} <${m.address}>` : m.address)
    .join(", ");
}

function shortMailbox(list, fallback) {
  const first = list && list[0];
  if (!first) return fallback || "(no sender)";
  return first.name || first.address;
}

function size(octets) {
  if (octets < 1024) return `${octets} B`;
  if (octets < 1024 * 1024) return `${(octets / 1024).toFixed(1)} KiB`;
  return `${(octets / 1024 / 1024).toFixed(1)} MiB`;
}

function time(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
    : date.toLocaleString();
}

/** The same match as the API's `q`: any address or the subject. */
function matches(summary, query) {
  if (!query) return true;
  const needle = query.toLowerCase();
  const texts = [
    summary.subject,
    summary.envelope.from,
    ...summary.envelope.to,
    ...[...summary.from, ...summary.to, ...summary.cc].flatMap((m) =>
      m.name ? [m.name, m.address] : [m.address]
    ),
  ];
  return texts.some((text) => text.toLowerCase().includes(needle));
}

function renderList(freshId) {
  const list = $("messages");
  list.replaceChildren();
  const shown = state.messages.filter((m) => matches(m, state.filter));
  for (const summary of shown) {
    const badges = [];
    if (summary.attachments > 0) {
      badges.push(
        el(
          "span",
          { class: "badge", title: "Attachments and inline images" },
          `${summary.attachments} file${summary.attachments === 1 ? "" : "s"}`,
        ),
      );
    }
    if (summary.secure) {
      badges.push(
        el("span", { class: "badge", title: "Received over TLS" }, "TLS"),
      );
    }
    list.append(el(
      "li",
      {
        "data-id": summary.id,
        class: [
          summary.id === state.selected ? "selected" : "",
          summary.id === freshId ? "fresh" : "",
        ].join(" ").trim() || undefined,
        onclick: () => {
          location.hash = `#/messages/${summary.id}`;
        },
      },
      el(
        "div",
        { class: "row-top" },
        el(
          "span",
          { class: "row-from" },
          shortMailbox(summary.from, summary.envelope.from),
        ),
        el("span", { class: "row-time" }, time(summary.receivedAt)),
      ),
      el(
        "div",
        { class: "row-subject" },
        summary.subject || "(no subject)",
        ...badges,
      ),
      el(
        "div",
        { class: "row-to" },
        "To: ",
        mailbox(summary.to) || summary.envelope.to.join(", "),
      ),
    ));
  }
  $("empty").hidden = state.messages.length > 0;
  $("count").textContent = state.filter
    ? `${shown.length} of ${state.messages.length}`
    : `${state.messages.length} message${
      state.messages.length === 1 ? "" : "s"
    }`;
}

async function loadMessages() {
  const { messages } = await api("/api/messages");
  state.messages = messages;
  renderList();
}

function closeView() {
  state.selected = null;
  state.details = null;
  $("view").hidden = true;
  $("placeholder").hidden = false;
  renderList();
}

const TABS = [
  ["html", "HTML"],
  ["text", "Text"],
  ["source", "Source"],
  ["headers", "Headers"],
  ["mime", "MIME"],
  ["transcript", "Transcript"],
  ["trace", "Trace & DKIM"],
];

async function openMessage(id) {
  let details;
  try {
    details = await api(`/api/messages/${encodeURIComponent(id)}`);
  } catch {
    closeView();
    return;
  }
  if (state.selected !== id) state.remote = false;
  state.selected = id;
  state.details = details;
  $("view").hidden = false;
  $("placeholder").hidden = true;
  $("subject").textContent = details.subject || "(no subject)";
  const meta = $("meta");
  meta.replaceChildren();
  const row = (name, ...value) =>
    meta.append(el("dt", {}, name), el("dd", {}, ...value));
  row("From", mailbox(details.from) || "(none)");
  row("To", mailbox(details.to) || "(none)");
  if (details.cc.length) row("Cc", mailbox(details.cc));
  row(
    "Envelope",
    `${details.envelope.from || "<>"} → ${details.envelope.to.join(", ")}`,
  );
  if (details.date) row("Date", details.date);
  const session = [
    details.secure ? "TLS" : "no TLS",
    details.authUser
      ? `AUTH ${details.authMechanism ?? ""} as ${details.authUser}`
      : "no AUTH",
    `${details.esmtp ? "EHLO" : "HELO"} ${details.helo}`,
    details.transfer,
  ];
  row("Session", session.join(" · "));
  row(
    "DKIM",
    ...details.dkim.map((result) =>
      el(
        "span",
        { class: `badge ${result.result}`, title: result.reason ?? "" },
        result.domain ? `${result.result} (${result.domain})` : result.result,
      )
    ),
  );
  row("Size", size(details.size));
  $("download").href = `/api/messages/${details.id}/raw?download=1`;
  const files = $("files");
  files.replaceChildren();
  for (const file of details.files) {
    files.append(el(
      "li",
      {},
      el(
        "a",
        {
          href: file.url,
          download: file.filename,
          title: `${file.type}${file.inline ? " (inline)" : ""}`,
        },
        `↓ ${file.filename}`,
        el("span", { class: "muted" }, ` ${size(file.size)}`),
      ),
    ));
  }
  const tabs = $("tabs");
  tabs.replaceChildren();
  const available = TABS.filter(([key]) =>
    (key !== "html" || details.html) &&
    (key !== "text" || details.text !== null)
  );
  if (!available.some(([key]) => key === state.tab)) {
    state.tab = available[0][0];
  }
  for (const [key, label] of available) {
    tabs.append(el("button", {
      type: "button",
      role: "tab",
      "data-tab": key,
      "aria-selected": String(key === state.tab),
      onclick: () => {
        state.tab = key;
        for (const b of tabs.children) {
          b.setAttribute("aria-selected", String(b.dataset.tab === key));
        }
        showTab();
      },
    }, label));
  }
  renderList();
  await showTab();
}

async function showTab() {
  const details = state.details;
  const panel = $("panel");
  panel.replaceChildren();
  const bar = $("remote-bar");
  bar.hidden = true;
  const base = `/api/messages/${details.id}`;
  switch (state.tab) {
    case "html": {
      if (details.remoteResources > 0 && !state.remote) {
        bar.hidden = false;
        $("remote-text").textContent =
          `${details.remoteResources} remote resource${
            details.remoteResources === 1 ? " is" : "s are"
          } blocked.`;
      }
      const response = await fetch(
        `${base}/html${state.remote ? "?remote=1" : ""}`,
      );
      const frame = el("iframe", {
        id: "html-frame",
        title: "HTML body",
        sandbox: "allow-popups allow-popups-to-escape-sandbox",
        referrerpolicy: "no-referrer",
      });
      // Set as a property: the document is never parsed as part of this page.
      frame.srcdoc = await response.text();
      panel.append(frame);
      break;
    }
    case "text":
      panel.append(el("pre", { id: "text-body" }, details.text));
      break;
    case "source": {
      const text = await (await fetch(`${base}/raw`)).text();
      panel.append(el("pre", { id: "source" }, text));
      break;
    }
    case "headers":
      panel.append(el(
        "table",
        {},
        details.headers.map((h) =>
          el("tr", {}, el("th", {}, h.name), el("td", {}, h.value))
        ),
      ));
      break;
    case "mime": {
      const node = (part) =>
        el(
          "li",
          {},
          part.children.length ? el("span", {}, part.type) : el("a", {
            href: `${base}/parts/${part.index}`,
            download: part.filename ?? "",
          }, part.type),
          el(
            "span",
            { class: "muted" },
            [
              ` #${part.index}`,
              size(part.size),
              part.encoding,
              part.charset,
              part.disposition,
              part.filename ? `“${part.filename}”` : undefined,
              part.contentId ? `<${part.contentId}>` : undefined,
            ].filter(Boolean).join(" · "),
          ),
          part.children.length
            ? el("ul", {}, part.children.map(node))
            : undefined,
        );
      panel.append(el("ul", { class: "tree" }, node(details.parts)));
      break;
    }
    case "transcript":
      panel.append(el(
        "pre",
        { class: "transcript" },
        details.transcript.map((line) =>
          el(
            "div",
            { class: line.type },
            `${
              line.type === "client"
                ? "C: "
                : line.type === "server"
                ? "S: "
                : "*  "
            }${line.text}`,
          )
        ),
      ));
      break;
    case "trace": {
      if (details.hops.length) {
        panel.append(el("h3", {}, "Received hops"));
        panel.append(
          el("img", {
            class: "hops",
            src: `${base}/hops.svg`,
            alt: "The path of the message, hop by hop",
          }),
        );
        panel.append(el(
          "table",
          {},
          el(
            "tr",
            {},
            ["#", "from", "by", "with", "TLS", "date", "delay"].map((h) =>
              el("th", {}, h)
            ),
          ),
          details.hops.map((hop) =>
            el(
              "tr",
              {},
              [
                String(hop.index),
                hop.from ?? "",
                hop.by ?? "",
                hop.with ?? "",
                hop.tls ?? "",
                hop.date ?? "",
                hop.delayMs === undefined ? "" : `${hop.delayMs / 1000} s`,
              ].map((text) => el("td", {}, text)),
            )
          ),
        ));
      } else panel.append(el("p", { class: "muted" }, "No Received field."));
      panel.append(el("h3", {}, "DKIM"));
      panel.append(el(
        "ul",
        { class: "dkim" },
        details.dkim.map((r) =>
          el(
            "li",
            {},
            el("span", { class: `badge ${r.result}` }, r.result),
            " ",
            [
              r.domain && `d=${r.domain}`,
              r.selector && `s=${r.selector}`,
              r.algorithm && `a=${r.algorithm}`,
              r.canonicalization && `c=${r.canonicalization}`,
              r.keyBits && `${r.keyBits}-bit key`,
              r.testing && "testing key",
              r.reason,
            ].filter(Boolean).join(" · "),
          )
        ),
      ));
      break;
    }
  }
}

function route() {
  const match = /^#\/messages\/(\d+)$/.exec(location.hash);
  if (match) openMessage(match[1]);
  else closeView();
}

function renderFaults(faults) {
  const list = $("fault-list");
  list.replaceChildren();
  for (const fault of faults) {
    list.append(el(
      "li",
      {},
      `${fault.remaining} × “${fault.reply}” at ${fault.command} `,
      el("button", {
        type: "button",
        title: "Remove",
        onclick: () => api(`/api/faults/${fault.id}`, { method: "DELETE" }),
      }, "×"),
    ));
  }
  $("faults-toggle").textContent = faults.length
    ? `Faults (${faults.length})`
    : "Faults";
}

function listen() {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => {
    $("live").textContent = "live";
    $("live").classList.add("on");
    // Catch up on what arrived while disconnected.
    loadMessages().catch(() => {});
    api("/api/faults").then(renderFaults).catch(() => {});
  });
  source.addEventListener("error", () => {
    $("live").textContent = "offline";
    $("live").classList.remove("on");
  });
  source.addEventListener("message", (event) => {
    const summary = JSON.parse(event.data);
    if (state.messages.some((m) => m.id === summary.id)) return;
    state.messages.unshift(summary);
    state.messages.length = Math.min(state.messages.length, state.max);
    renderList(summary.id);
  });
  source.addEventListener("delete", (event) => {
    const { ids } = JSON.parse(event.data);
    state.messages = state.messages.filter((m) => !ids.includes(m.id));
    if (ids.includes(state.selected)) {
      location.hash = "";
      closeView();
    } else renderList();
  });
  source.addEventListener(
    "faults",
    (event) => renderFaults(JSON.parse(event.data)),
  );
}

async function start() {
  const info = await api("/api/info");
  state.max = info.maxMessages;
  $("smtp").textContent = `SMTP ${info.smtp.hostname}:${info.smtp.port} (${
    info.smtp.tls === "starttls"
      ? "STARTTLS"
      : info.smtp.tls === "implicit"
      ? "TLS"
      : "no TLS"
  })`;
  const select = $("fault-command");
  for (const command of info.commands) {
    select.append(
      el(
        "option",
        { value: command, selected: command === "RCPT" },
        command === "DATA_END" ? "end of data" : command,
      ),
    );
  }
  $("search").addEventListener("input", (event) => {
    state.filter = event.target.value;
    renderList();
  });
  $("delete-all").addEventListener(
    "click",
    () => api("/api/messages", { method: "DELETE" }),
  );
  $("delete").addEventListener("click", () => {
    if (state.selected) {
      api(`/api/messages/${state.selected}`, { method: "DELETE" });
    }
  });
  $("load-remote").addEventListener("click", () => {
    state.remote = true;
    showTab();
  });
  $("faults-toggle").addEventListener("click", () => {
    const panel = $("faults");
    panel.hidden = !panel.hidden;
    $("faults-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("fault-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("fault-error").textContent = "";
    try {
      await api("/api/faults", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          command: $("fault-command").value,
          reply: $("fault-reply").value,
          count: Number($("fault-count").value),
        }),
      });
    } catch (error) {
      $("fault-error").textContent = error.message;
    }
  });
  $("fault-clear").addEventListener(
    "click",
    () => api("/api/faults", { method: "DELETE" }),
  );
  addEventListener("hashchange", route);
  await loadMessages();
  listen();
  route();
}

start();
