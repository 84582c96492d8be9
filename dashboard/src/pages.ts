// One function per page: each reads what it shows, renders it into `root`, and returns how to
// stop its live updates when the page is left.
import uPlot from "uplot";
import { checked, checkedList, get, NotFound } from "./api";
import { type BlockEvent, chain, readSet, readStatus, type Verdict } from "./chain";
import { coins, facts, h, link, notice, short, table } from "./dom";
import { type ProvenAccount, verifyAccount } from "./stateproof";
import { checkTransaction, verifyInclusion } from "./txcheck";
import { type BlockJson, NotVerified, signerIndexes, type ValidatorSetJson } from "./verify";

export type Cleanup = () => void;
export type Page = (root: HTMLElement, argument: string) => Promise<Cleanup | void>;

const historyBlocks = 30;
const listBlocks = 20;
const percentileWindow = 20;

/** A mark of what the browser checked: "checking…", "✓ …" or "✗ not verified: why". */
function mark(ok: boolean | undefined, text: string, title = ""): HTMLElement {
  if (ok === undefined) {
    return h("span", { class: "badge checking", "data-verified": "checking" }, "checking…");
  }
  if (ok) {
    return h("span", { class: "badge verified", "data-verified": "yes", title }, `✓ ${text}`);
  }
  return h(
    "span",
    { class: "badge unverified", "data-verified": "no", role: "alert" },
    `✗ not verified: ${text}`,
  );
}

/** A mark that shows "checking…" until `check` says what it proved or why it failed. */
function checking(className: string, check: () => Promise<string>): HTMLElement {
  const box = h("span", { class: className }, mark(undefined, ""));
  check().then(
    (text) => box.replaceChildren(mark(true, text)),
    (error) =>
      box.replaceChildren(
        mark(false, error instanceof NotVerified ? error.message : String(error)),
      ),
  );
  return box;
}

export function verdictBadge(verdict: Verdict | undefined): HTMLElement {
  if (verdict === undefined) return mark(undefined, "");
  if (!verdict.ok) return mark(false, verdict.reason);
  const { signers, via } = verdict.verified;
  return mark(
    true,
    `verified (${signers.length} signers)`,
    `header linked via its ${via}; BLS certificate checked in this browser`,
  );
}

function slot(verdictOf: Promise<Verdict>): HTMLElement {
  const holder = h("span", { class: "verdict" }, verdictBadge(undefined));
  void verdictOf.then((verdict) => holder.replaceChildren(verdictBadge(verdict)));
  return holder;
}

function ago(ms: number): string {
  const seconds = Math.max(0, (Date.now() - ms) / 1000);
  return seconds < 60 ? `${seconds.toFixed(1)} s ago` : `${Math.floor(seconds / 60)} min ago`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function recentBlocks(top: number, count: number): Promise<BlockJson[]> {
  const heights = [];
  for (let height = top; height >= Math.max(1, top - count + 1); height--) heights.push(height);
  return Promise.all(heights.map((height) => chain.block(height)));
}

// Overview ------------------------------------------------------------------------------------

export const overview: Page = async (root) => {
  const status = await readStatus();
  if (status.height === 0) {
    root.append(notice("info", "No block yet", "The chain has not committed its first block."));
    return;
  }
  let set = await readSet(status.height);
  const blocks = new Map<number, BlockJson>();
  for (const block of await recentBlocks(status.height, historyBlocks)) {
    blocks.set(block.height, block);
  }
  let mempool = status.mempool;

  const height = h("output", { id: "stat-height" });
  const since = h("output", { id: "stat-since" });
  const pool = h("output", { id: "stat-mempool" });
  const latest = h("span", { id: "stat-verdict" });
  const chartBox = h("figure", { class: "chart", id: "chart" });
  const validators = h("div", { id: "validators" });
  root.append(
    h("h1", {}, `Overview of ${status.chain_id}`),
    h(
      "section",
      { class: "stats", "aria-label": "Chain figures" },
      h("div", { class: "stat" }, h("span", {}, "Height"), height),
      h("div", { class: "stat" }, h("span", {}, "Last block"), since),
      h("div", { class: "stat" }, h("span", {}, "Mempool"), pool),
      h("div", { class: "stat" }, h("span", {}, "Newest block"), latest),
    ),
    h("h2", {}, "Throughput and finality"),
    chartBox,
    h("h2", {}, "Validators"),
    validators,
  );

  const plot = new uPlot(
    {
      title: "TPS and block finality over the last blocks",
      width: Math.min(900, root.clientWidth || 900),
      height: 260,
      scales: { x: { time: true }, s: { auto: true } },
      series: [
        {},
        { label: "TPS", stroke: "#1f6feb", width: 2 },
        { label: "finality p50 (s)", stroke: "#1a7f37", scale: "s" },
        { label: "finality p99 (s)", stroke: "#cf222e", scale: "s" },
      ],
      axes: [{}, { label: "tx/s" }, { side: 1, scale: "s", label: "seconds" }],
    },
    [[], [], [], []],
    chartBox,
  );

  function render(): void {
    const ordered = [...blocks.values()].sort((a, b) => a.height - b.height);
    const newest = ordered[ordered.length - 1];
    height.textContent = newest.height.toLocaleString("en");
    pool.textContent = `${mempool} txs`;
    latest.replaceChildren(
      link(`#/block/${newest.height}`, `#${newest.height}`),
      " ",
      slot(chain.verify(newest)),
    );
    const xs: number[] = [];
    const tps: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const intervals: number[] = [];
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i].height !== ordered[i - 1].height + 1) continue;
      const seconds = (ordered[i].timestamp_ms - ordered[i - 1].timestamp_ms) / 1000;
      intervals.push(seconds);
      const window = intervals.slice(-percentileWindow).sort((a, b) => a - b);
      xs.push(ordered[i].timestamp_ms / 1000);
      tps.push(seconds > 0 ? ordered[i].txs.length / seconds : 0);
      p50.push(percentile(window, 50));
      p99.push(percentile(window, 99));
    }
    plot.setData([xs, tps, p50, p99]);
    renderValidators(validators, set, ordered);
  }
  render();
  const tick = setInterval(() => {
    const newest = Math.max(...blocks.keys());
    since.textContent = ago(blocks.get(newest)!.timestamp_ms);
  }, 250);
  const stop = chain.onBlock(async (event: BlockEvent) => {
    const block = await chain.block(event.height);
    blocks.set(block.height, block);
    for (const old of [...blocks.keys()].sort((a, b) => a - b).slice(0, -historyBlocks * 4)) {
      blocks.delete(old);
    }
    if (block.validator_set_hash !== set.set_hash) set = await readSet(block.height);
    mempool = (await readStatus()).mempool;
    render();
  });
  return () => {
    clearInterval(tick);
    stop();
    plot.destroy();
  };
};

function renderValidators(box: HTMLElement, set: ValidatorSetJson, blocks: BlockJson[]): void {
  const lastSigned = new Map<number, number>();
  const signedCount = new Map<number, number>();
  let certificates = 0;
  for (const block of blocks) {
    if (block.certificate === null) continue;
    certificates++;
    for (const index of signerIndexes(block.certificate.signer_bitmap)) {
      lastSigned.set(index, Math.max(lastSigned.get(index) ?? 0, block.height));
      signedCount.set(index, (signedCount.get(index) ?? 0) + 1);
    }
  }
  const total = set.validators.reduce((sum, v) => sum + v.power, 0);
  box.replaceChildren(
    table(
      `Validator set at height ${set.height}: ${set.validators.length} validators, ${total} power`,
      ["Validator", "Power", "Share", "Last signed", `Liveness (last ${certificates} blocks)`],
      set.validators.map((validator, index) => [
        link(`#/account/${validator.address}`, short(validator.address)),
        validator.power.toLocaleString("en"),
        `${((100 * validator.power) / total).toFixed(1)} %`,
        lastSigned.has(index)
          ? link(`#/block/${lastSigned.get(index)}`, `#${lastSigned.get(index)}`)
          : "—",
        certificates
          ? `${Math.round((100 * (signedCount.get(index) ?? 0)) / certificates)} %`
          : "—",
      ]),
    ),
  );
}

// Blocks --------------------------------------------------------------------------------------

function blockRow(block: BlockJson): HTMLElement {
  return h(
    "tr",
    { "data-height": block.height },
    h("td", {}, link(`#/block/${block.height}`, `#${block.height}`)),
    h("td", {}, h("code", {}, short(block.hash))),
    h("td", {}, new Date(block.timestamp_ms).toLocaleTimeString("en-GB")),
    h("td", {}, block.txs.length),
    h("td", {}, link(`#/account/${block.proposer}`, short(block.proposer))),
    h("td", {}, slot(chain.verify(block))),
  );
}

export const blocksPage: Page = async (root) => {
  const status = await readStatus();
  const body = h("tbody", { id: "block-rows" });
  root.append(
    h("h1", {}, "Blocks"),
    h(
      "table",
      {},
      h("caption", {}, "Newest blocks first; new blocks appear as they are committed"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Height", "Hash", "Time", "Txs", "Proposer", "Checked"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      body,
    ),
  );
  for (const block of await recentBlocks(status.height, listBlocks)) body.append(blockRow(block));
  return chain.onBlock(async (event) => {
    if (body.querySelector(`[data-height="${event.height}"]`)) return;
    body.prepend(blockRow(await chain.block(event.height)));
    while (body.children.length > listBlocks) body.lastElementChild!.remove();
  });
};

export const blockPage: Page = async (root, argument) => {
  if (!/^\d+$/.test(argument) || Number(argument) < 1) {
    throw new NotFound(`"${argument}" is not a block height`);
  }
  const block = await chain.block(Number(argument));
  const verdict = chain.verify(block);
  root.append(
    h("h1", {}, `Block #${block.height}`),
    h("p", {}, slot(verdict)),
    facts([
      ["Hash", h("code", {}, block.hash)],
      ["Time", new Date(block.timestamp_ms).toISOString()],
      ["Round", block.round],
      ["Proposer", link(`#/account/${block.proposer}`, block.proposer)],
      [
        "Previous",
        block.height > 1 ? link(`#/block/${block.height - 1}`, short(block.previous_hash)) : "—",
      ],
      ["State root", h("code", {}, block.state_root)],
      ["Transactions root", h("code", {}, block.txs_root)],
      ["Receipts root", h("code", {}, block.receipts_root)],
      ["Validator set", h("code", {}, block.validator_set_hash)],
      ["Next validator set", h("code", {}, block.next_validator_set_hash)],
    ]),
  );
  const certificateBox = h("section", { "aria-label": "Commit certificate" });
  root.append(h("h2", {}, "Commit certificate"), certificateBox);
  if (block.certificate === null) {
    certificateBox.append(notice("info", "No certificate yet", "The block is being certified."));
  } else {
    const set = await readSet(block.height);
    const signed = new Set(signerIndexes(block.certificate.signer_bitmap));
    certificateBox.append(
      facts([
        ["Round", block.certificate.round],
        [
          "Aggregate signature",
          h("code", { class: "wrap" }, block.certificate.aggregate_signature),
        ],
      ]),
      table(
        "Who signed",
        ["Validator", "Power", "Signed"],
        set.validators.map((validator, index) => [
          link(`#/account/${validator.address}`, validator.address),
          validator.power,
          signed.has(index) ? "✓ signed" : "— absent",
        ]),
      ),
    );
  }
  root.append(
    h("h2", {}, `Transactions (${block.txs.length})`),
    block.txs.length
      ? h("ul", {}, ...block.txs.map((hash) => h("li", {}, link(`#/tx/${hash}`, hash))))
      : h("p", {}, "No transactions in this block."),
  );
};

// Transactions and accounts -------------------------------------------------------------------

interface TxView {
  hash: string;
  status: string;
  committed: boolean;
  height: number | null;
  index: number | null;
  raw: string | null;
  inclusion: { index: number; size: number; txs_root: string; path: string[] } | null;
  receipt: {
    code: number;
    code_name: string;
    ok: boolean;
    fee_charged: number;
    events: { kind: string; attributes: Record<string, string> }[];
  } | null;
}

export const txPage: Page = async (root, argument) => {
  if (!/^[0-9a-f]{64}$/.test(argument)) throw new NotFound(`"${argument}" is not a hash`);
  const tx = checked<TxView>(
    await get(`/api/v1/txs/${argument}`),
    { hash: "string", status: "string", committed: "boolean", receipt: "object?" },
    "transaction",
  );
  root.append(
    h("h1", {}, "Transaction"),
    facts([
      ["Hash", h("code", {}, tx.hash)],
      ["Status", tx.status],
      ["Block", tx.height ? link(`#/block/${tx.height}`, `#${tx.height}`) : "not yet in a block"],
      ["Index", tx.index ?? "—"],
    ]),
  );
  if (tx.raw !== null && tx.inclusion !== null && tx.height !== null) {
    root.append(
      h("h2", {}, "Checked in this browser"),
      h("p", {}, checkTx(tx.hash, tx.raw, tx.height, tx.inclusion)),
    );
  }
  if (tx.receipt !== null) {
    const receipt = checked<NonNullable<TxView["receipt"]>>(
      tx.receipt,
      {
        code: "number",
        code_name: "string",
        ok: "boolean",
        fee_charged: "number",
        events: "array",
      },
      "receipt",
    );
    root.append(
      h("h2", {}, "Receipt"),
      facts([
        [
          "Result",
          h(
            "span",
            { class: receipt.ok ? "ok" : "failed" },
            `${receipt.code} ${receipt.code_name}`,
          ),
        ],
        ["Fee charged", coins(receipt.fee_charged, "FLX")],
      ]),
      table(
        "Events",
        ["Kind", "Attributes"],
        receipt.events.map((event) => [
          event.kind,
          h(
            "code",
            {},
            Object.entries(event.attributes)
              .map(([k, v]) => `${k}=${v}`)
              .join(" "),
          ),
        ]),
      ),
    );
  }
};

/** The transaction's own checks, then its inclusion in a block the chain verifier accepts. */
function checkTx(
  hash: string,
  raw: string,
  height: number,
  inclusion: NonNullable<TxView["inclusion"]>,
): HTMLElement {
  return checking("tx-check", async () => {
    const checked = checkTransaction(raw, hash);
    const block = await chain.block(height);
    const verdict = await chain.verify(block);
    if (!verdict.ok) throw new NotVerified(`its block: ${verdict.reason}`);
    verifyInclusion(hash, inclusion.index, inclusion.size, inclusion.path, block.txs_root);
    const signature = checked.signatureChecked
      ? "Ed25519 signature checked"
      : "hash checked (a hybrid signature is not checked here)";
    return `${signature}; included in verified block #${height}`;
  });
}

/** The account's state proof against the state root of a block the chain verifier accepts. */
function checkAccount(account: ProvenAccount): HTMLElement {
  return checking("account-check", async () => {
    const block = await chain.block(account.proof.height);
    const verdict = await chain.verify(block);
    if (!verdict.ok) throw new NotVerified(`its block: ${verdict.reason}`);
    verifyAccount(account, block.state_root);
    return `nonce and balances proven against verified block #${block.height}'s state root`;
  });
}

export const accountPage: Page = async (root, argument) => {
  const account = checked<ProvenAccount>(
    await get(`/api/v1/accounts/${encodeURIComponent(argument)}`),
    { address: "string", nonce: "number", balances: "object", proof: "object" },
    "account",
  );
  checked(
    account.proof,
    { height: "number", state_root: "string", key: "string", value: "string?", proof: "string" },
    "account.proof",
  );
  root.append(
    h("h1", {}, "Account"),
    h("p", {}, checkAccount(account)),
    facts([
      ["Address", h("code", {}, account.address)],
      ["Nonce", account.nonce],
      ["Read at height", account.proof.height],
    ]),
    table(
      "Balances",
      ["Token", "Balance"],
      Object.entries(account.balances).map(([denom, amount]) => [denom, coins(amount, denom)]),
    ),
  );
  const recent = checked<{ txs: { hash: string; height: number; code: number }[] }>(
    await get(`/api/v1/accounts/${encodeURIComponent(argument)}/txs`),
    { txs: "array" },
    "recent transactions",
  );
  root.append(
    table(
      "Recent transactions",
      ["Transaction", "Block", "Result"],
      checkedList<{ hash: string; height: number; code: number }>(
        recent.txs,
        { hash: "string", height: "number", code: "number" },
        "recent transactions",
      ).map((tx) => [
        link(`#/tx/${tx.hash}`, short(tx.hash)),
        link(`#/block/${tx.height}`, `#${tx.height}`),
        tx.code === 0 ? "ok" : `failed (${tx.code})`,
      ]),
    ),
  );
};

// Apps, governance, DIDs ----------------------------------------------------------------------

interface AppView {
  id: string;
  owner: string;
  version: number;
  replicas: number;
  fuel_price: number;
  fuel_limit: number;
  calls: number;
  deployed_height: number;
}

const APP_SHAPE = {
  id: "string",
  owner: "string",
  version: "number",
  replicas: "number",
  fuel_price: "number",
  fuel_limit: "number",
  calls: "number",
  deployed_height: "number",
} as const;

export const appsPage: Page = async (root) => {
  const page = checked<{ apps: unknown[] }>(await get("/api/v1/apps"), { apps: "array" }, "apps");
  const apps = checkedList<AppView>(page.apps, APP_SHAPE, "apps");
  root.append(h("h1", {}, "Apps"));
  if (apps.length === 0) {
    root.append(notice("info", "No apps deployed", "Deploy one with `bpi app deploy`."));
    return;
  }
  root.append(
    table(
      "Deployed apps",
      ["App", "Owner", "Version", "Calls", "Replicas", "Fuel price"],
      apps.map((app) => [
        link(`#/app/${app.id}`, short(app.id)),
        link(`#/account/${app.owner}`, short(app.owner)),
        app.version,
        app.calls,
        app.replicas,
        coins(app.fuel_price, "FLX"),
      ]),
    ),
  );
};

export const appPage: Page = async (root, argument) => {
  if (!/^[0-9a-f]{64}$/.test(argument)) throw new NotFound(`"${argument}" is not an app id`);
  const app = checked<AppView>(await get(`/api/v1/apps/${argument}`), APP_SHAPE, "app");
  const calls = checked<{ calls: unknown[] }>(
    await get(`/api/v1/apps/${argument}/calls`),
    { calls: "array" },
    "calls",
  );
  const logblocks = checked<{ logblocks: unknown[] }>(
    await get(`/api/v1/logblocks?app=${argument}`),
    { logblocks: "array" },
    "LogBlocks",
  );
  type Call = {
    seq: number;
    caller: string;
    function: string;
    status: string;
    fuel_used: number;
    height: number;
  };
  type LogBlock = {
    number: number;
    hash: string;
    height: number;
    first_seq: number;
    last_seq: number;
    leaves: number;
  };
  root.append(
    h("h1", {}, `App ${short(app.id)}`),
    facts([
      ["Id", h("code", {}, app.id)],
      ["Owner", link(`#/account/${app.owner}`, app.owner)],
      ["Version", app.version],
      ["Replicas", app.replicas],
      ["Fuel price", coins(app.fuel_price, "FLX")],
      ["Fuel limit per call", app.fuel_limit.toLocaleString("en")],
      ["Calls", app.calls],
      ["Deployed at", link(`#/block/${app.deployed_height}`, `#${app.deployed_height}`)],
    ]),
    table(
      "Calls",
      ["#", "Caller", "Function", "Status", "Fuel used", "Block"],
      checkedList<Call>(
        calls.calls,
        {
          seq: "number",
          caller: "string",
          function: "string",
          status: "string",
          fuel_used: "number",
          height: "number",
        },
        "calls",
      ).map((call) => [
        call.seq,
        link(`#/account/${call.caller}`, short(call.caller)),
        call.function,
        call.status,
        call.fuel_used.toLocaleString("en"),
        link(`#/block/${call.height}`, `#${call.height}`),
      ]),
    ),
    table(
      "LogBlocks (notarised receipts)",
      ["Number", "Hash", "Block", "Calls", "Receipts"],
      checkedList<LogBlock>(
        logblocks.logblocks,
        {
          number: "number",
          hash: "string",
          height: "number",
          first_seq: "number",
          last_seq: "number",
          leaves: "number",
        },
        "LogBlocks",
      ).map((logblock) => [
        logblock.number,
        h("code", {}, short(logblock.hash)),
        link(`#/block/${logblock.height}`, `#${logblock.height}`),
        `${logblock.first_seq}–${logblock.last_seq}`,
        logblock.leaves,
      ]),
    ),
    await signedReceipts(argument),
    ...(await appDisputes(argument)),
  );
};

/** The receipts this node's executor signed for the app, or why there are none to show. */
async function signedReceipts(app: string): Promise<HTMLElement> {
  type Receipt = { seq: number; hash: string; outcome: string; fuel_used: number };
  let page: { receipts: unknown[] };
  try {
    page = checked(await get(`/api/v1/apps/${app}/receipts`), { receipts: "array" }, "receipts");
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
    return notice("info", "No receipts here", "This node runs no executor for the app.");
  }
  return table(
    "Receipts signed by this node's executor",
    ["Call", "Receipt", "Outcome", "Fuel used"],
    checkedList<Receipt>(
      page.receipts,
      { seq: "number", hash: "string", outcome: "string", fuel_used: "number" },
      "receipts",
    ).map((receipt) => [
      receipt.seq,
      h("code", {}, short(receipt.hash)),
      receipt.outcome,
      receipt.fuel_used.toLocaleString("en"),
    ]),
  );
}

interface DisputeView {
  id: number;
  app_id: string;
  kind: string;
  status: string;
  defender: string;
  challenger: string;
  bond: string;
  opened_height: number;
  call_seq: number;
  receipts: (string | null)[];
  lo: number;
  hi: number;
  agreed_root: string;
  posts: (string | null)[];
  mover: string;
  deadline: number | null;
  turns: number;
  ruling: { root: string; step: number; what: string } | null;
}

const DISPUTE_SHAPE = {
  id: "number",
  app_id: "string",
  kind: "string",
  status: "string",
  defender: "string",
  challenger: "string",
  bond: "string",
  opened_height: "number",
  call_seq: "number",
  receipts: "array",
  lo: "number",
  hi: "number",
  agreed_root: "string",
  posts: "array",
  mover: "string",
  deadline: "nullable",
  turns: "number",
  ruling: "object?",
} as const;

/** One page of disputes, newest first (the gateway's page size at most). */
async function readDisputes(): Promise<DisputeView[]> {
  const page = checked<{ disputes: unknown[] }>(
    await get("/api/v1/disputes?limit=100"),
    { disputes: "array" },
    "disputes",
  );
  return checkedList<DisputeView>(page.disputes, DISPUTE_SHAPE, "disputes");
}

function words(status: string): string {
  return status.replace(/_/g, " ");
}

function disputesTable(caption: string, disputes: DisputeView[]): HTMLElement {
  return table(
    caption,
    ["Dispute", "App", "Kind", "Status", "Calls", "Turns", "Deadline"],
    disputes.map((d) => [
      link(`#/dispute/${d.id}`, `#${d.id}`),
      link(`#/app/${d.app_id}`, short(d.app_id)),
      d.kind,
      words(d.status),
      `${d.lo}–${d.hi}`,
      d.turns,
      d.deadline === null ? "closed" : link(`#/block/${d.deadline}`, `#${d.deadline}`),
    ]),
  );
}

export const disputesPage: Page = async (root) => {
  const disputes = await readDisputes();
  root.append(h("h1", {}, "Disputes and rulings"));
  if (disputes.length === 0) {
    root.append(
      notice(
        "info",
        "No disputes",
        "No receipt has been challenged and no replicas disagreed. Open one with `bpi dispute open`.",
      ),
    );
    return;
  }
  root.append(disputesTable("Disputes, newest first", disputes));
};

/** The app's disputes among the newest ones, or nothing when it has none. */
async function appDisputes(app: string): Promise<HTMLElement[]> {
  const mine = (await readDisputes()).filter((d) => d.app_id === app);
  return mine.length ? [disputesTable("Disputes over this app's receipts", mine)] : [];
}

export const disputePage: Page = async (root, argument) => {
  if (!/^\d+$/.test(argument)) throw new NotFound(`"${argument}" is not a dispute id`);
  const d = checked<DisputeView>(
    await get(`/api/v1/disputes/${argument}`),
    DISPUTE_SHAPE,
    "dispute",
  );
  const receipt = (side: number) => {
    const hash = d.receipts[side];
    return typeof hash === "string" ? h("code", {}, short(hash)) : "none";
  };
  const post = (side: number) => {
    const root = d.posts[side];
    return typeof root === "string" ? h("code", {}, short(root)) : "not revealed yet";
  };
  root.append(
    h("h1", {}, `Dispute #${d.id}`),
    facts([
      ["Status", words(d.status)],
      ["Kind", d.kind === "replicas" ? "replicas that disagree" : "challenge of a receipt"],
      ["App", link(`#/app/${d.app_id}`, d.app_id)],
      ["Opened at", link(`#/block/${d.opened_height}`, `#${d.opened_height}`)],
      ["Call", d.call_seq],
      ["Bond", d.bond],
      ["Disputed calls", `${d.lo}–${d.hi}`],
      ["Agreed state root", h("code", {}, d.agreed_root)],
      ["Turns", d.turns],
      [
        "Deadline",
        d.deadline === null
          ? "closed"
          : h(
              "span",
              {},
              `${d.mover} to move by `,
              link(`#/block/${d.deadline}`, `#${d.deadline}`),
            ),
      ],
    ]),
    table(
      "Sides",
      ["Side", "Account", "Receipt of the call", "State root after the range"],
      [
        ["defender", link(`#/account/${d.defender}`, d.defender), receipt(0), post(0)],
        ["challenger", link(`#/account/${d.challenger}`, d.challenger), receipt(1), post(1)],
      ],
    ),
    h("h2", {}, "Ruling"),
  );
  if (d.ruling === null) {
    root.append(notice("info", "No ruling yet", "The court rules when the bisection ends."));
    return;
  }
  const ruling = checked<NonNullable<DisputeView["ruling"]>>(
    d.ruling,
    { root: "string", step: "number", what: "string" },
    "ruling",
  );
  root.append(
    facts([
      ["Call", words(d.status)],
      ["Witness step", ruling.step.toLocaleString("en")],
      ["State root the replay left", h("code", {}, ruling.root)],
      ["What diverged", ruling.what],
    ]),
  );
};

interface ProposalView {
  id: number;
  title: string;
  status: string;
  proposer: string;
  voting_end_height: number;
  tally: { yes: number; no: number; abstain: number; veto: number; bonded: number };
}
const PROPOSAL_SHAPE = {
  id: "number",
  title: "string",
  status: "string",
  proposer: "string",
  tally: "object",
} as const;

export const proposalsPage: Page = async (root) => {
  const page = checked<{ proposals: unknown[] }>(
    await get("/api/v1/proposals"),
    { proposals: "array" },
    "proposals",
  );
  const proposals = checkedList<ProposalView>(page.proposals, PROPOSAL_SHAPE, "proposals");
  root.append(h("h1", {}, "Governance"));
  if (proposals.length === 0) {
    root.append(notice("info", "No proposals", "Submit one with `metanode gov propose`."));
    return;
  }
  root.append(
    table(
      "Proposals",
      ["Id", "Title", "Status", "Yes", "No", "Veto"],
      proposals.map((p) => [
        link(`#/proposal/${p.id}`, `#${p.id}`),
        p.title,
        p.status.replace(/_/g, " "),
        coins(p.tally.yes, "GEN"),
        coins(p.tally.no, "GEN"),
        coins(p.tally.veto, "GEN"),
      ]),
    ),
  );
};

export const proposalPage: Page = async (root, argument) => {
  if (!/^\d+$/.test(argument)) throw new NotFound(`"${argument}" is not a proposal id`);
  const p = checked<ProposalView>(
    await get(`/api/v1/proposals/${argument}`),
    PROPOSAL_SHAPE,
    "proposal",
  );
  const votes = checked<{ votes: unknown[] }>(
    await get(`/api/v1/proposals/${argument}/votes`),
    { votes: "array" },
    "votes",
  );
  root.append(
    h("h1", {}, `Proposal #${p.id}: ${p.title}`),
    facts([
      ["Status", p.status.replace(/_/g, " ")],
      ["Proposer", link(`#/account/${p.proposer}`, p.proposer)],
      ["Voting ends at", p.voting_end_height],
      [
        "Yes / No / Abstain / Veto",
        [p.tally.yes, p.tally.no, p.tally.abstain, p.tally.veto]
          .map((amount) => coins(amount, "GEN"))
          .join(" / "),
      ],
    ]),
    table(
      "Votes",
      ["Voter", "Vote"],
      checkedList<{ voter: string; option: string }>(
        votes.votes,
        { voter: "string", option: "string" },
        "votes",
      ).map((vote) => [link(`#/account/${vote.voter}`, vote.voter), vote.option]),
    ),
  );
};

export const didPage: Page = async (root, argument) => {
  const result = checked<{ didDocument: unknown; didDocumentMetadata: unknown }>(
    await get(`/api/v1/dids/${encodeURIComponent(argument)}`),
    { didDocument: "object", didDocumentMetadata: "object" },
    "DID resolution",
  );
  const document = checked<{ id: string; controller?: unknown }>(
    result.didDocument,
    { id: "string" },
    "DID document",
  );
  root.append(
    h("h1", {}, "DID"),
    facts([["DID", h("code", {}, document.id)]]),
    h("h2", {}, "Document"),
    h("pre", {}, JSON.stringify(result.didDocument, null, 2)),
    h("h2", {}, "Metadata"),
    h("pre", {}, JSON.stringify(result.didDocumentMetadata, null, 2)),
  );
};

const routesByKind = {
  block: true,
  tx: true,
  app: true,
  account: true,
  did: true,
  dispute: true,
};

/** Where a search term leads, as the gateway's search answers: a page, or the not-found one. */
export async function resolveSearch(term: string): Promise<string> {
  const text = term.trim();
  const found = checked<{ kind: string | null; id: string | null }>(
    await get(`/api/v1/search?q=${encodeURIComponent(text)}`),
    { kind: "nullable", id: "nullable" },
    "search",
  );
  // Each kind the gateway names is also the route of its page.
  if (found.kind !== null && found.id !== null && found.kind in routesByKind) {
    return `#/${found.kind}/${encodeURIComponent(found.id)}`;
  }
  return `#/not-found/${encodeURIComponent(text)}`;
}

export const notFoundPage: Page = async (root, argument) => {
  root.append(
    notice(
      "not-found",
      "Nothing found",
      `No block, transaction, account, app, DID or dispute matches "${decodeURIComponent(argument)}". ` +
        "Search takes a height, a transaction or block hash (64 hex digits), " +
        "an mn1… address, a did:… DID or dispute N.",
    ),
  );
};
