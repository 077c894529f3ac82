// The HTTP/JSON API as the console uses it: every request carries the tab's token, if any,
// and every failure becomes an ApiError with the server's own message.

const TOKEN_KEY = "logicblocks-event-store.token";
const API = "api/v1";

/** A refused or failed request: `status` is the HTTP status (0 when none came back). */
export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }

  /** The server wants a (different) token. */
  get unauthenticated() {
    return this.status === 401;
  }
}

/** The token kept for this tab (sessionStorage: it goes when the tab closes), or null. */
export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The URL of API `path` with the query `parameters` (empty and null values left out). */
export function apiUrl(path, parameters = {}) {
  const url = new URL(`${API}/${path}`, document.baseURI);
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null && value !== undefined && value !== "") {
      url.searchParams.set(name, String(value));
    }
  }
  return url;
}

// A number JSON.parse would change (an integer past 2^53, "1.50", "1e3") keeps the text
// it was published as: payloads are shown as stored, not as a double rounds them. Where
// the browser lacks JSON.rawJSON (source text access), numbers stay as parsed.
function keepNumberText(key, value, context) {
  if (typeof value === "number" && context?.source && String(value) !== context.source) {
    return JSON.rawJSON ? JSON.rawJSON(context.source) : value;
  }
  return value;
}

/** Parse the JSON `text` of an API answer or of a server-sent event. */
export function parseJson(text) {
  return JSON.parse(text, keepNumberText);
}

/** GET API `path` as JSON; throws ApiError on any status but 2xx. */
export async function getJson(path, parameters = {}, token = storedToken()) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(apiUrl(path, parameters), { headers });
  } catch (error) {
    throw new ApiError(0, `The server cannot be reached (${error.message}).`);
  }
  const body = await response.text().then(parseJson).catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, errorMessage(response, body), body);
  }
  return body;
}

// Every API error body is {"code": ..., "message": ...}; the message names the field.
function errorMessage(response, body) {
  return (body && body.message) || `${response.status} ${response.statusText}`;
}

/** Segments of an API path, each escaped: names may hold "/", "?" or "#". */
export function path(...segments) {
  return segments.map((segment) => encodeURIComponent(segment)).join("/");
}
