// Browsing what the store holds: categories, a category's streams, a stream's events, and
// one event found by sequence number or id. Every list is read a page at a time (the API's
// page tokens and `after` cursor), so a store of 100,000 streams costs one page per view.

import { ApiError, getJson, path } from "./api.js";
import { count, el, replace } from "./dom.js";
import { eventCard } from "./events.js";
import { categoriesHref, categoryHref, idHref, streamHref, tailHref } from "./routes.js";

const LIST_PAGE_SIZE = 50;
const EVENTS_PAGE_SIZE = 50;

/** "Categories › orders › o-1": where the view is, each step but the last a link. */
export function crumbs(...steps) {
  const nav = el("nav", { class: "crumbs", "aria-label": "Where you are" });
  steps.forEach(([label, href], index) => {
    if (index > 0) nav.append(el("span", { class: "sep", "aria-hidden": "true" }, "›"));
    nav.append(href ? el("a", { href }, label) : el("span", { class: "here" }, label));
  });
  return nav;
}

/** Links to the first page (when past it) and the next (when there is one). */
export function pager(atStart, firstHref, nextHref, nextLabel = "Next page") {
  if (atStart && !nextHref) return null;
  return el(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    atStart ? null : el("a", { href: firstHref }, "« First page"),
    nextHref ? el("a", { href: nextHref, rel: "next" }, `${nextLabel} »`) : null,
  );
}

export function table(headings, rows, emptyText) {
  if (rows.length === 0) return el("p", { class: "empty" }, emptyText);
  return el(
    "table",
    { class: "list" },
    el("thead", {}, el("tr", {}, headings.map(([text, kind]) => el("th", { class: kind }, text)))),
    el("tbody", {}, rows),
  );
}

/** `#/`: the store's categories, a page at a time. */
export async function showCategories(view, { query }) {
  const pageToken = query.get("page");
  const page = await getJson("categories", {
    page_size: LIST_PAGE_SIZE,
    page_token: pageToken,
  });
  const rows = page.categories.map((category) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: categoryHref(category.category) }, category.category)),
      el("td", { class: "number" }, count(category.streams)),
      el("td", { class: "number" }, count(category.events)),
      el("td", { class: "number" }, count(category.last_sequence_number)),
      el("td", {}, el("a", { href: tailHref(category.category), class: "quiet" }, "tail")),
    ),
  );
  replace(
    view,
    crumbs(["Categories"]),
    table(
      [
        ["Category"],
        ["Streams", "number"],
        ["Events", "number"],
        ["Last sequence number", "number"],
        [""],
      ],
      rows,
      "No events yet: publish one and its category appears here.",
    ),
    pager(
      !pageToken,
      categoriesHref(),
      page.next_page_token && categoriesHref({ page: page.next_page_token }),
    ),
  );
}

/** `#/categories/{category}`: its streams, a page at a time, optionally by name prefix. */
export async function showStreams(view, { segments: [, category], query }) {
  const prefix = query.get("prefix") ?? "";
  const pageToken = query.get("page");
  const page = await getJson(path("categories", category, "streams"), {
    prefix,
    page_size: LIST_PAGE_SIZE,
    page_token: pageToken,
  });
  const filter = el(
    "form",
    {
      class: "filter",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        const value = new FormData(event.target).get("prefix");
        window.location.hash = categoryHref(category, { prefix: value });
      },
    },
    el("label", { for: "stream-prefix" }, "Streams starting with"),
    el("input", { id: "stream-prefix", name: "prefix", value: prefix, autocomplete: "off" }),
    el("button", { type: "submit" }, "Filter"),
  );
  const rows = page.streams.map((stream) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: streamHref(category, stream.stream) }, stream.stream)),
      el("td", { class: "number" }, count(stream.events)),
      el("td", { class: "number" }, count(stream.last_position)),
      el("td", { class: "number" }, count(stream.last_sequence_number)),
      el("td", { class: "time" }, stream.last_observed_at),
    ),
  );
  replace(
    view,
    crumbs(["Categories", categoriesHref()], [category]),
    el(
      "div",
      { class: "toolbar" },
      filter,
      el("a", { href: tailHref(category) }, "Live tail of this category"),
    ),
    table(
      [
        ["Stream"],
        ["Events", "number"],
        ["Last position", "number"],
        ["Last sequence number", "number"],
        ["Last observed at"],
      ],
      rows,
      prefix ? "No stream of this category starts with that." : "This category has no events.",
    ),
    pager(
      !pageToken,
      categoryHref(category, { prefix }),
      page.next_page_token && categoryHref(category, { prefix, page: page.next_page_token }),
    ),
  );
}

/** `#/streams/{category}/{stream}`: its events in order, each opening onto its payload. */
export async function showStream(view, { segments: [, category, stream], query }) {
  const after = query.get("after");
  const page = await getJson("events", {
    category,
    stream,
    after,
    limit: EVENTS_PAGE_SIZE,
  });
  replace(
    view,
    crumbs(["Categories", categoriesHref()], [category, categoryHref(category)], [stream]),
    page.events.length === 0
      ? el("p", { class: "empty" }, after ? "No more events." : "This stream has no events.")
      : el(
          "div",
          { class: "events" },
          page.events.map((event) => eventCard(event, { showStream: false })),
        ),
    pager(
      after === null,
      streamHref(category, stream),
      page.more && streamHref(category, stream, { after: page.next_after }),
      "Next events",
    ),
  );
}

/** The event at API `eventPath`, or null when there is none (404). */
async function findEvent(eventPath) {
  try {
    return await getJson(eventPath);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/**
 * `#/events/{n}` and `#/ids/{id}`: one event, every field and the payload shown. An id may
 * be all digits too, so a number with no event at that sequence number is tried as an id,
 * and an event found by sequence number links to the one with that id.
 */
export async function showEvent(view, { segments: [kind, key] }) {
  const byId = kind === "ids";
  const idPath = path("events", "by-id", key);
  let event = await findEvent(byId ? idPath : path("events", key));
  const foundById = byId || event === null;
  if (event === null && !byId) event = await findEvent(idPath);
  if (event === null) {
    replace(
      view,
      crumbs(["Categories", categoriesHref()], ["Search"]),
      el(
        "p",
        { class: "empty", role: "status" },
        byId ? `No event has the id “${key}”.` : `No event has the sequence number or id ${key}.`,
      ),
    );
    return;
  }
  replace(
    view,
    crumbs(
      ["Categories", categoriesHref()],
      [event.category, categoryHref(event.category)],
      [event.stream, streamHref(event.category, event.stream)],
      [`#${event.sequence_number}`],
    ),
    eventCard(event, { open: true }),
    foundById
      ? null
      : el("p", { class: "aside" }, el("a", { href: idHref(key) }, `The event whose id is “${key}”`)),
  );
}
