// Building the page from data. Every string becomes a text node (textContent), never
// markup: names and payloads are user data, and innerHTML would run whatever they hold.

/**
 * A new element: `el("a", {href: "#/", class: "x"}, "text", child, ...)`.
 * Properties named `on<event>` add listeners; `dataset` and boolean properties are set
 * as properties; everything else is an attribute. Children are nodes or strings
 * (strings become text), and null or false children are skipped.
 */
export function el(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append `children` (nodes, strings, nested arrays; null and false skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything in `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/** A number with thousands separators, so 100,000 streams read at a glance. */
export function count(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en");
}
