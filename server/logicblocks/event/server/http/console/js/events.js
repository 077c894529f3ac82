// One stored event on the page: a line to scan (sequence number, position, name, stream,
// time) that opens onto every field and the payload as formatted JSON.

import { el } from "./dom.js";
import { streamHref } from "./routes.js";

// Every field of a stored event, in the order the page lists them.
const FIELDS = [
  ["sequence_number", "Sequence number"],
  ["id", "Id"],
  ["name", "Name"],
  ["category", "Category"],
  ["stream", "Stream"],
  ["position", "Position"],
  ["observed_at", "Observed at"],
  ["occurred_at", "Occurred at"],
];

// A JSON token of the indented text: a string (a key when a colon follows), a number, or
// true/false/null. Strings are matched whole first, so nothing inside one is a token.
const JSON_TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d[\d.eE+-]*)|\b(true|false|null)\b/g;
// Past this many characters the payload is shown plain: colouring costs a node a token.
const MAX_COLOURED = 100_000;

/** The payload as indented JSON text. */
export function formatPayload(payload) {
  return JSON.stringify(payload, null, 2);
}

/** The payload, indented and coloured by token, every piece a text node. */
function payloadBlock(payload) {
  const text = formatPayload(payload);
  const block = el("pre", { class: "payload" });
  if (text.length > MAX_COLOURED) {
    block.textContent = text;
    return block;
  }
  let shown = 0;
  for (const match of text.matchAll(JSON_TOKEN)) {
    const [token, string, colon, number] = match;
    block.append(text.slice(shown, match.index));
    if (string !== undefined) {
      block.append(el("span", { class: colon ? "json-key" : "json-string" }, string), colon ?? "");
    } else {
      block.append(el("span", { class: number ? "json-number" : "json-literal" }, token));
    }
    shown = match.index + token.length;
  }
  block.append(text.slice(shown));
  return block;
}

/** A collapsible card for `event`; `open` shows its fields and payload at once. */
export function eventCard(event, { open = false, showStream = true } = {}) {
  const fields = el("dl", { class: "fields" });
  for (const [key, label] of FIELDS) {
    const value = event[key];
    let shown = value === null || value === undefined ? "–" : String(value);
    if (key === "stream") {
      shown = el("a", { href: streamHref(event.category, event.stream) }, shown);
    }
    fields.append(el("dt", {}, label), el("dd", { class: `field-${key}` }, shown));
  }
  return el(
    "details",
    { class: "event", open, dataset: { sequenceNumber: event.sequence_number } },
    el(
      "summary",
      {},
      el("span", { class: "seq", title: "Sequence number" }, `#${event.sequence_number}`),
      el("span", { class: "pos", title: "Position in its stream" }, `pos ${event.position}`),
      el("span", { class: "name" }, event.name),
      showStream &&
        el(
          "a",
          { class: "where", href: streamHref(event.category, event.stream) },
          `${event.category} / ${event.stream}`,
        ),
      el("time", { class: "when", datetime: event.observed_at }, event.observed_at),
    ),
    el(
      "div",
      { class: "body" },
      fields,
      el("h4", {}, "Payload"),
      payloadBlock(event.payload),
    ),
  );
}
