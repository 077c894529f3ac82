// Consumer groups as an operator watches them: every group with how far behind it is, its
// parked events and live consumers; one group's settings, consumers and parked events, a
// page at a time. Read-only: replaying and dropping parked events is the CLI's (and
// gRPC's), under their token rules.

import { getJson, path } from "./api.js";
import { crumbs, pager, table } from "./browse.js";
import { count, el, replace } from "./dom.js";
import { categoryHref, groupHref, groupsHref, sequenceHref, streamHref } from "./routes.js";

const PARKED_PAGE_SIZE = 50;

/** What a group follows, as a phrase, linked where the console has a view of it. */
function follows(target) {
  if (target.log) return "the log";
  if (target.category) {
    const { category } = target.category;
    return el("span", {}, "category ", el("a", { href: categoryHref(category) }, category));
  }
  if (target.stream) {
    const { category, stream } = target.stream;
    return el("span", {}, "stream ", el("a", { href: streamHref(category, stream) }, stream));
  }
  const items = target.query.items.length;
  return `a query of ${items} item${items === 1 ? "" : "s"}`;
}

function startsAt(start) {
  if (start.beginning) return "the beginning";
  if (start.end) return "the end";
  return `after #${start.after_sequence_number}`;
}

/** `#/groups` and `#/groups/{name}`. */
export async function showGroups(view, where) {
  const name = where.segments[1];
  if (name !== undefined) {
    await showGroup(view, name, where.query);
    return;
  }
  const { groups } = await getJson("groups");
  const rows = groups.map((group) =>
    el(
      "tr",
      { dataset: { group: group.name } },
      el("td", {}, el("a", { href: groupHref(group.name) }, group.name)),
      el("td", {}, follows(group.target)),
      el("td", { class: "number", dataset: { field: "lag" } }, count(group.lag)),
      el("td", { class: "number", dataset: { field: "parked" } }, count(group.parked)),
      el("td", { class: "number", dataset: { field: "members" } }, count(group.members.length)),
    ),
  );
  replace(
    view,
    crumbs(["Consumer groups"]),
    table(
      [["Group"], ["Follows"], ["Lag", "number"], ["Parked", "number"], ["Consumers", "number"]],
      rows,
      "No consumer groups yet: create one with the Python API or gRPC.",
    ),
  );
}

async function showGroup(view, name, query) {
  const after = query.get("after");
  const [group, page] = await Promise.all([
    getJson(path("groups", name)),
    getJson(path("groups", name, "parked"), { after, limit: PARKED_PAGE_SIZE }),
  ]);
  const { settings } = group;
  const fact = (field, label, value) =>
    el("div", { dataset: { field } }, el("dt", {}, label), el("dd", {}, value));
  const parkedRows = page.parked_events.map((event) =>
    el(
      "tr",
      {},
      el(
        "td",
        { class: "number" },
        el("a", { href: sequenceHref(event.sequence_number) }, `#${event.sequence_number}`),
      ),
      el("td", {}, el("a", { href: streamHref(event.category, event.stream) }, event.stream)),
      el("td", { class: "number" }, count(event.position)),
      el("td", { class: "number" }, count(event.attempts)),
      el("td", { class: "time" }, event.parked_at),
      el("td", {}, event.replaying ? "replaying" : ""),
      el("td", {}, event.reason),
    ),
  );
  const lastShown = page.parked_events.at(-1);
  replace(
    view,
    crumbs(["Consumer groups", groupsHref()], [name]),
    el(
      "dl",
      { class: "facts" },
      fact("follows", "Follows", follows(group.target)),
      fact("start", "Started at", startsAt(group.start)),
      fact("lag", "Lag", count(group.lag)),
      fact("parked", "Parked", count(group.parked)),
      fact("ack-timeout", "Ack timeout", `${settings.ack_timeout} s`),
      fact("retries", "Retries before parking", count(settings.max_retries)),
      fact("in-flight", "Unsettled per consumer", count(settings.max_in_flight)),
      fact("partitions", "Partitions", count(settings.partitions)),
    ),
    el("h3", {}, "Consumers"),
    group.members.length === 0
      ? el("p", { class: "empty" }, "No consumer is live.")
      : el(
          "ul",
          { class: "members" },
          group.members.map((member) => el("li", {}, member.consumer_id)),
        ),
    el("h3", {}, "Parked events"),
    table(
      [
        ["Sequence number", "number"],
        ["Stream"],
        ["Position", "number"],
        ["Attempts", "number"],
        ["Parked at"],
        [""],
        ["Reason"],
      ],
      parkedRows,
      after ? "No more parked events." : "No parked events.",
    ),
    pager(
      after === null,
      groupHref(name),
      page.more && lastShown && groupHref(name, { after: lastShown.sequence_number }),
      "Next parked events",
    ),
  );
}
