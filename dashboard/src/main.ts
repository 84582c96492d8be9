// The dashboard: a page per route of the URL fragment, a search box, the connection state and
// what the browser has verified itself. A page that fails shows why, and the frame stays.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { Malformed, NotFound, Unreachable } from "./api";
import { chain } from "./chain";
import { h, notice } from "./dom";
import {
  accountPage,
  appPage,
  appsPage,
  blockPage,
  blocksPage,
  type Cleanup,
  didPage,
  disputePage,
  disputesPage,
  notFoundPage,
  overview,
  type Page,
  proposalPage,
  proposalsPage,
  resolveSearch,
  txPage,
} from "./pages";

const routes: Record<string, Page> = {
  "": overview,
  blocks: blocksPage,
  block: blockPage,
  tx: txPage,
  account: accountPage,
  apps: appsPage,
  app: appPage,
  proposals: proposalsPage,
  proposal: proposalPage,
  did: didPage,
  disputes: disputesPage,
  dispute: disputePage,
  "not-found": notFoundPage,
};

const view = document.getElementById("view")!;
let cleanup: Cleanup | void = undefined;
let generation = 0;

async function show(): Promise<void> {
  const [, name = "", ...rest] = location.hash.replace(/^#/, "").split("/");
  const argument = decodeURIComponent(rest.join("/"));
  const page = routes[name];
  if (cleanup) cleanup();
  cleanup = undefined;
  const mine = ++generation;
  const root = h("div", { class: "page", "data-page": name || "overview" });
  view.replaceChildren(root);
  root.setAttribute("aria-busy", "true");
  try {
    if (page === undefined) throw new NotFound(`there is no page "${name}"`);
    const stop = await page(root, argument);
    if (mine !== generation) {
      if (stop) stop();
      return;
    }
    cleanup = stop;
  } catch (error) {
    if (mine !== generation) return;
    root.append(explain(error));
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function explain(error: unknown): HTMLElement {
  if (error instanceof NotFound) return notice("not-found", "Not found", error.message);
  if (error instanceof Malformed) {
    return notice("error", "The server sent data this page cannot read", error.message);
  }
  if (error instanceof Unreachable) {
    return notice(
      "error",
      "The gateway is not answering",
      `${error.message}. Retrying when it is back.`,
    );
  }
  return notice("error", "Something went wrong on this page", String(error));
}

function showTrust(): void {
  const line = document.getElementById("trust")!;
  const checkpoint = chain.verifier.checkpoint;
  const heights = chain.verifier.verifiedHeights();
  const refused = [...chain.verdicts.values()].filter((v) => !v.ok).length;
  if (checkpoint === null) {
    line.textContent = "Nothing verified yet.";
    return;
  }
  line.replaceChildren(
    h(
      "span",
      { class: refused ? "unverified" : "verified" },
      refused ? `✗ ${refused} block(s) failed verification. ` : "✓ ",
    ),
    `${heights.length} block(s) verified in this browser (BLS certificates, header chain) ` +
      `from the checkpoint at height ${checkpoint.height}` +
      (checkpoint.pinned
        ? " (pinned)."
        : " (trusted on first use; pin with ?checkpoint=HEIGHT:SETHASH)."),
  );
}

document.getElementById("search")!.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("search-input") as HTMLInputElement;
  if (!input.value.trim()) return;
  try {
    location.hash = await resolveSearch(input.value);
  } catch (error) {
    view.replaceChildren(explain(error));
  }
});

const badge = document.getElementById("connection")!;
chain.onConnection((state) => {
  badge.textContent = state === "live" ? "● live" : "reconnecting…";
  badge.className = `badge ${state}`;
  if (state === "live" && view.querySelector(".notice.error")) void show();
});
chain.onBlock(() => showTrust());
setInterval(showTrust, 1000);
window.addEventListener("hashchange", () => void show());
chain.connect();
void show();
