// The console's entry point: the summary, the token prompt, the search box, and the router
// that shows the view of the URL's hash.

import { ApiError, forgetToken, getJson, storedToken, storeToken } from "./api.js";
import { showCategories, showEvent, showStream, showStreams } from "./browse.js";
import { el, replace } from "./dom.js";
import { showGroups } from "./groups.js";
import { idHref, parseHash, sequenceHref } from "./routes.js";
import { hideSummary, showSummary } from "./summary.js";
import { showTail } from "./tail.js";

const VIEWS = {
  "": showCategories,
  categories: showStreams,
  streams: showStream,
  events: showEvent,
  ids: showEvent,
  tail: showTail,
  groups: showGroups,
};

const view = document.getElementById("view");
const signOut = document.getElementById("sign-out");

// Each navigation gets a number; a slower, older one finishing late must not paint over it.
let navigation = 0;
let cleanup = null;

function askForToken(refused) {
  hideSummary();
  signOut.hidden = true;
  const message = el("p", { class: "error", role: "alert" }, "That token was refused.");
  message.hidden = !refused;
  const form = el(
    "form",
    {
      class: "token",
      onsubmit: async (event) => {
        event.preventDefault();
        const token = new FormData(form).get("token").trim();
        try {
          await getJson("info", {}, token);
        } catch (error) {
          const refusedNow = error instanceof ApiError && error.unauthenticated;
          message.textContent = refusedNow ? "That token was refused." : error.message;
          message.hidden = false;
          return;
        }
        storeToken(token);
        route();
      },
    },
    el("h2", {}, "This server asks for a token"),
    el(
      "p",
      {},
      "Enter a bearer token from the server's tokens file. ",
      "The console keeps it for this tab only.",
    ),
    el("label", { for: "token" }, "Token"),
    el("input", { id: "token", name: "token", type: "password", required: true, autofocus: true }),
    el("button", { type: "submit" }, "Continue"),
    message,
  );
  replace(view, form);
  form.elements.token.focus();
}

// The tab's title names the view, and the bar marks the place it belongs to.
function markPlace(section, page) {
  const here = page.querySelector(".crumbs .here");
  document.title = here ? `${here.textContent} · Event store` : "Event store console";
  const place = section === "tail" || section === "groups" ? `#/${section}` : "#/";
  for (const link of document.querySelectorAll(".main-nav a")) {
    if (link.getAttribute("href") === place) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const current = ++navigation;
  const where = parseHash(window.location.hash);
  const show = VIEWS[where.segments[0] ?? ""];
  // Views draw into a page of their own, put in place only if still wanted.
  const page = el("div", { class: "page" });
  view.setAttribute("aria-busy", "true");
  try {
    const info = await getJson("info");
    if (current !== navigation) return;
    showSummary(info);
    signOut.hidden = !storedToken();
    if (!show) {
      replace(page, el("p", { class: "empty" }, "There is no such page."));
    } else {
      const stop = await show(page, where);
      if (current !== navigation) {
        if (stop) stop();
        return;
      }
      cleanup = stop ?? null;
    }
    replace(view, page);
    markPlace(where.segments[0] ?? "", page);
  } catch (error) {
    if (current !== navigation) return;
    if (error instanceof ApiError && error.unauthenticated) {
      askForToken(Boolean(storedToken()));
      forgetToken();
    } else {
      replace(view, el("p", { class: "error", role: "alert" }, error.message));
    }
  } finally {
    if (current === navigation) view.removeAttribute("aria-busy");
  }
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = new FormData(event.target).get("q").trim();
  if (!text) return;
  const sequenceNumber = text.replace(/^#/, "");
  window.location.hash = /^\d+$/.test(sequenceNumber)
    ? sequenceHref(sequenceNumber)
    : idHref(text);
});

signOut.addEventListener("click", () => {
  forgetToken();
  route();
});

window.addEventListener("hashchange", route);
route();
