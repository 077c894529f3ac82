// The store at a glance, above every view: read on each navigation, and again while a live
// tail shows new events (at most once per REFRESH_MS, so a busy log costs few requests).

import { getJson } from "./api.js";
import { count, el, replace } from "./dom.js";

const REFRESH_MS = 2000;
const summary = document.getElementById("summary");
let refreshing = null;

/** Show `info` (the API's /info answer). */
export function showSummary(info) {
  const item = (field, label, value) =>
    el("div", { dataset: { field } }, el("dt", {}, label), el("dd", {}, value));
  replace(
    summary,
    el(
      "dl",
      {},
      item("events", "Events", count(info.events)),
      item("streams", "Streams", count(info.streams)),
      item("categories", "Categories", count(info.categories)),
      item("head", "Head", info.head === null ? "empty" : `#${info.head}`),
      item("storage", "Storage", info.storage),
      item("server-version", "Server", info.server_version),
    ),
  );
  summary.hidden = false;
}

export function hideSummary() {
  summary.hidden = true;
}

/** Read the summary again soon; calls within REFRESH_MS of one another share one read. */
export function refreshSummarySoon() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    try {
      showSummary(await getJson("info"));
    } catch {
      // The summary keeps its last figures; the view in front reports what went wrong.
    } finally {
      refreshing = null;
    }
  }, REFRESH_MS);
}
