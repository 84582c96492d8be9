// The page's view of the chain: blocks read from the gateway, each checked by the verifier,
// and the live events stream (reconnecting with back-off when the connection drops).
import {
  BLOCK_SHAPE,
  CERTIFICATE_SHAPE,
  checked,
  checkedList,
  get,
  SET_SHAPE,
  STATUS_SHAPE,
  VALIDATOR_SHAPE,
} from "./api";
import {
  type BlockJson,
  ChainVerifier,
  NotVerified,
  type ValidatorSetJson,
  type Verified,
} from "./verify";

export interface Status {
  name: string;
  chain_id: string;
  height: number;
  peers: number;
  mempool: number;
  block_hash: string;
}

export interface BlockEvent {
  type: "block";
  height: number;
  hash: string;
  time_ms: number;
  txs: number;
}

export type Verdict = { ok: true; verified: Verified } | { ok: false; reason: string };

export async function readBlock(height: number): Promise<BlockJson> {
  const block = checked<BlockJson>(await get(`/api/v1/blocks/${height}`), BLOCK_SHAPE, "block");
  for (const field of ["certificate", "last_certificate"] as const) {
    if (block[field] !== null) checked(block[field], CERTIFICATE_SHAPE, `block.${field}`);
  }
  return block;
}

export async function readSet(height: number): Promise<ValidatorSetJson> {
  const set = checked<ValidatorSetJson>(
    await get(`/api/v1/validators?height=${height}`),
    SET_SHAPE,
    "validator set",
  );
  checkedList(set.validators, VALIDATOR_SHAPE, "validator set.validators");
  return set;
}

export async function readStatus(): Promise<Status> {
  return checked<Status>(await get("/api/v1/status"), STATUS_SHAPE, "status");
}

/** `?checkpoint=HEIGHT:SETHASH` pins the trusted start; otherwise the first block seen is. */
function pinnedCheckpoint(): { height: number; setHash: string } | null {
  const text = new URLSearchParams(location.search).get("checkpoint");
  const match = text?.match(/^(\d+):([0-9a-f]{64})$/);
  return match ? { height: Number(match[1]), setHash: match[2] } : null;
}

class Chain {
  readonly blocks = new Map<number, BlockJson>();
  readonly verdicts = new Map<number, Verdict>();
  readonly verifier = new ChainVerifier(
    (height) => this.block(height),
    (height) => readSet(height),
    pinnedCheckpoint(),
  );
  private readonly listeners = new Set<(event: BlockEvent) => void>();
  private readonly connectionListeners = new Set<(state: string) => void>();
  private pending = Promise.resolve();
  lastEvent: BlockEvent | null = null;

  async block(height: number): Promise<BlockJson> {
    const known = this.blocks.get(height);
    if (known !== undefined) return known;
    const block = await readBlock(height);
    this.blocks.set(height, block);
    return block;
  }

  /** The verifier's verdict on a block; verifications run one at a time, in call order. */
  verify(block: BlockJson): Promise<Verdict> {
    const done = this.pending.then(async (): Promise<Verdict> => {
      const known = this.verdicts.get(block.height);
      if (known !== undefined && (!known.ok || known.verified.hash === block.hash)) return known;
      let verdict: Verdict;
      try {
        verdict = { ok: true, verified: await this.verifier.verify(block) };
      } catch (error) {
        verdict = {
          ok: false,
          reason: error instanceof NotVerified ? error.message : `could not check: ${error}`,
        };
      }
      this.verdicts.set(block.height, verdict);
      return verdict;
    });
    this.pending = done.then(() => undefined);
    return done;
  }

  onBlock(listener: (event: BlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onConnection(listener: (state: string) => void): void {
    this.connectionListeners.add(listener);
  }

  connect(delayMs = 500): void {
    const url = new URL("/api/v1/events", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    const announce = (state: string) => this.connectionListeners.forEach((l) => l(state));
    socket.onopen = () => {
      announce("live");
      delayMs = 500;
    };
    socket.onmessage = (message) => {
      let event: unknown;
      try {
        event = JSON.parse(String(message.data));
      } catch {
        return; // a frame that is not JSON carries nothing the page can show
      }
      if ((event as { type?: unknown }).type !== "block") return;
      try {
        const block = checked<BlockEvent>(
          event,
          { height: "number", hash: "string", time_ms: "number", txs: "number" },
          "block event",
        );
        this.lastEvent = block;
        this.listeners.forEach((listener) => listener(block));
      } catch (error) {
        console.warn(String(error));
      }
    };
    socket.onclose = () => {
      announce("reconnecting");
      setTimeout(() => this.connect(Math.min(delayMs * 2, 8000)), delayMs);
    };
  }
}

export const chain = new Chain();
