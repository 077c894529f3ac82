// The console's places, as hash URLs: each can be bookmarked and the browser's back button
// walks them, with no server route but `/`. Names are escaped segment by segment, since a
// category or stream may hold "/", "?" or "#".

function href(segments, query = {}) {
  const path = segments.map((segment) => encodeURIComponent(segment)).join("/");
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

export const categoriesHref = (query = {}) => href([], query);
export const categoryHref = (category, query = {}) => href(["categories", category], query);
export const streamHref = (category, stream, query = {}) =>
  href(["streams", category, stream], query);
export const sequenceHref = (sequenceNumber) => href(["events", String(sequenceNumber)]);
export const idHref = (id) => href(["ids", id]);
export const tailHref = (category = null) => href(category ? ["tail", category] : ["tail"]);
export const groupsHref = () => href(["groups"]);
export const groupHref = (name, query = {}) => href(["groups", name], query);

/** The route of `hash` ("#/streams/a/b?after=3"): its decoded segments and query. */
export function parseHash(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [pathText, queryText = ""] = text.split("?", 2);
  const segments = pathText === "" ? [] : pathText.split("/").map(decodeURIComponent);
  return { segments, query: new URLSearchParams(queryText) };
}
