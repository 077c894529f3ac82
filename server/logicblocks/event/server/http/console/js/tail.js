// The live tail: the events of the log or of one category as they commit, newest first,
// over the API's Server-Sent Events route. EventSource reconnects by itself after a dropped
// connection and resumes after the last event it saw (Last-Event-ID), with no gap and no
// repeat; EventSource cannot send headers, so the tab's token goes as `access_token`.

import { apiUrl, parseJson, storedToken } from "./api.js";
import { crumbs } from "./browse.js";
import { el, replace } from "./dom.js";
import { eventCard } from "./events.js";
import { categoriesHref, tailHref } from "./routes.js";
import { refreshSummarySoon } from "./summary.js";

// The page keeps the newest events only: a busy log must not grow the tab without bound.
const KEEP_EVENTS = 500;

/** `#/tail` and `#/tail/{category}`: follow from now on; returns the view's cleanup. */
export function showTail(view, { segments: [, category = ""] }) {
  let source = null;
  let shown = 0;
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const list = el("div", { class: "events tail-events" });
  const toggle = el("button", { type: "button", class: "toggle" });

  const setStatus = (kind, text) => {
    status.className = `status ${kind}`;
    status.textContent = text;
  };
  const live = () =>
    setStatus(
      "live",
      shown === 0
        ? "Live: waiting for events to commit."
        : `Live: ${shown.toLocaleString("en")} new since you started.`,
    );

  // Where the tail stands: the last checkpoint the server sent (an SSE id), whether it
  // has been live since Start, and the pending reconnection, if any.
  let checkpoint = null;
  let wasLive = false;
  let retryMs = 0;
  let retry = null;

  const stop = (text = "Stopped.", kind = "idle") => {
    if (source) source.close();
    source = null;
    clearTimeout(retry);
    retry = null;
    toggle.textContent = "Start";
    setStatus(kind, text);
  };

  const remember = (message) => {
    if (message.lastEventId) checkpoint = message.lastEventId;
  };

  const connect = () => {
    // First from_end: only what commits from now on. After a refused reconnection (a 503
    // while a server restarts, a 429 while it is full), a new EventSource carries no
    // Last-Event-ID, so it asks for what came after the checkpoint (-1: the store was
    // empty when the tail caught up).
    const from = wasLive ? { after: checkpoint ?? -1 } : { from_end: "true" };
    source = new EventSource(
      apiUrl("subscribe", { category, ...from, access_token: storedToken() }),
    );
    source.addEventListener("stored", (message) => {
      remember(message);
      list.prepend(eventCard(parseJson(message.data), { showStream: true }));
      shown += 1;
      while (list.childElementCount > KEEP_EVENTS) list.lastElementChild.remove();
      live();
      refreshSummarySoon();
    });
    // Again after each reconnection: the stream is live once more.
    source.addEventListener("caught-up", (message) => {
      remember(message);
      wasLive = true;
      retryMs = 0;
      live();
    });
    source.addEventListener("heartbeat", (message) => {
      remember(message);
      live();
    });
    source.addEventListener("failure", (message) => {
      setStatus("error", `The server's storage failed: ${parseJson(message.data).message}`);
    });
    source.addEventListener("error", () => {
      if (!source || source.readyState !== EventSource.CLOSED) {
        // EventSource reconnects by itself, sending the last id it saw.
        setStatus("connecting", "Connection lost; reconnecting…");
      } else if (!wasLive) {
        // Refused from the start (a bad token, no free slot): retrying would not help.
        stop("The server refused the live tail; reload the page to try again.", "error");
      } else {
        // Refused on a reconnection, which EventSource does not retry: try again, slower
        // each time, from the checkpoint.
        source.close();
        retryMs = Math.min(Math.max(retryMs * 2, 1000), 15000);
        retry = setTimeout(connect, retryMs);
        setStatus("connecting", "Connection lost; reconnecting…");
      }
    });
  };

  const start = () => {
    stop();
    checkpoint = null;
    wasLive = false;
    toggle.textContent = "Stop";
    setStatus("connecting", "Connecting…");
    connect();
  };

  toggle.addEventListener("click", () => (source ? stop() : start()));

  const chooser = el(
    "form",
    {
      class: "filter",
      onsubmit: (event) => {
        event.preventDefault();
        const value = new FormData(event.target).get("category").trim();
        window.location.hash = tailHref(value || null);
      },
    },
    el("label", { for: "tail-category" }, "Category"),
    el("input", {
      id: "tail-category",
      name: "category",
      value: category,
      placeholder: "all categories",
      autocomplete: "off",
    }),
    el("button", { type: "submit" }, "Follow"),
  );

  replace(
    view,
    crumbs(
      ["Categories", categoriesHref()],
      [category ? `Live tail of ${category}` : "Live tail of the log"],
    ),
    el("div", { class: "toolbar" }, chooser, toggle),
    status,
    list,
  );
  start();
  return () => stop();
}
