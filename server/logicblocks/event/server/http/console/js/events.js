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

/** The payload as indented JSON text (shown with textContent, never parsed as markup). */
export function formatPayload(payload) {
  return JSON.stringify(payload, null, 2);
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
      el("pre", { class: "payload" }, formatPayload(event.payload)),
    ),
  );
}
