// Reads from the gateway. Every answer is checked for the shape the page uses before it is
// used, so a server that sends something else gets a "malformed" state, never a blank page.

export class NotFound extends Error {
  override name = "NotFound";
}
export class Malformed extends Error {
  override name = "Malformed";
}
export class Unreachable extends Error {
  override name = "Unreachable";
}

type Kind = "string" | "number" | "boolean" | "array" | "object" | "nullable";
export type Shape = Record<string, Kind | `${Kind}?`>;

/** `value` if it is an object with each field of `shape` of its kind (`?`: may be null). */
export function checked<T>(value: unknown, shape: Shape, what: string): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Malformed(`${what}: expected an object`);
  }
  const record = value as Record<string, unknown>;
  for (const [field, spec] of Object.entries(shape)) {
    const optional = spec.endsWith("?");
    const kind = spec.replace("?", "") as Kind;
    const item = record[field];
    if (optional && (item === null || item === undefined)) continue;
    const ok =
      kind === "array"
        ? Array.isArray(item)
        : kind === "object"
          ? typeof item === "object" && item !== null && !Array.isArray(item)
          : kind === "nullable"
            ? item !== undefined
            : typeof item === kind && (kind !== "number" || Number.isFinite(item));
    if (!ok) throw new Malformed(`${what}: field "${field}" is not ${kind}`);
  }
  return value as T;
}

export function checkedList<T>(value: unknown, shape: Shape, what: string): T[] {
  if (!Array.isArray(value)) throw new Malformed(`${what}: expected a list`);
  return value.map((item, index) => checked<T>(item, shape, `${what}[${index}]`));
}

/** GET a JSON answer; 404 and 410 are NotFound with the problem's detail. */
export async function get(path: string): Promise<unknown> {
  let answer: Response;
  try {
    answer = await fetch(path, { headers: { accept: "application/json" } });
  } catch (error) {
    throw new Unreachable(`the gateway did not answer ${path}: ${String(error)}`);
  }
  let body: unknown;
  try {
    body = await answer.json();
  } catch {
    throw new Malformed(`${path} answered ${answer.status} with something that is not JSON`);
  }
  if (answer.status === 404 || answer.status === 410 || answer.status === 400) {
    const detail = (body as { detail?: unknown } | null)?.detail;
    throw new NotFound(typeof detail === "string" ? detail : `nothing at ${path}`);
  }
  if (!answer.ok) throw new Unreachable(`${path} answered ${answer.status}`);
  return body;
}

export const BLOCK_SHAPE: Shape = {
  height: "number",
  hash: "string",
  chain_id: "string",
  round: "number",
  timestamp_ms: "number",
  previous_hash: "string",
  txs_root: "string",
  state_root: "string",
  receipts_root: "string",
  validator_set_hash: "string",
  next_validator_set_hash: "string",
  proposer: "string",
  vrf_proof: "string",
  last_certificate_hash: "string",
  txs: "array",
  certificate: "object?",
  last_certificate: "object?",
};
export const CERTIFICATE_SHAPE: Shape = {
  height: "number",
  round: "number",
  block_hash: "string",
  signer_bitmap: "string",
  aggregate_signature: "string",
};
export const VALIDATOR_SHAPE: Shape = {
  address: "string",
  power: "number",
  public_key: "string",
  bls_public_key: "string",
  vrf_public_key: "string",
};
export const SET_SHAPE: Shape = {
  height: "number",
  total_power: "number",
  set_hash: "string",
  validators: "array",
};
export const STATUS_SHAPE: Shape = {
  name: "string",
  chain_id: "string",
  height: "number",
  peers: "number",
  mempool: "number",
  block_hash: "string",
};
