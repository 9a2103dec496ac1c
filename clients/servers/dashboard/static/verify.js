// Offline verification of a retirement export in the browser: the same checks as the Python
// auditor (clients/retirement_export.verify_retirement_export with clients/lightclient and
// gridwire/proof), from a trust anchor the user gives, asking no node and not the dashboard.
//
//   anchor: a genesis file (its validators are the trusted set), a 64-hex-digit validator set
//           hash, or the 64-hex-digit hash of the exported header itself (a trusted header).
//   checks: trust steps from the trusted set to the exported header's set (light-client rules:
//           adjacent steps signed by the set named next, skips signed by >1/3 of the previous
//           set, every step by >2/3 of its own set); Ed25519 precommits of >2/3 of the power over
//           CometBFT's canonical vote bytes for header height+1, whose recomputed hash is the
//           signed block id and which carries the app hash; the record at the retirement's key
//           under the app hash by the app's 16-ary trie proof; the retirement shown is decoded
//           from that proven record and must equal the export's retirement field for field.
//
// Pure module: hashing and signature checks are passed in (`crypto`: sha256(bytes) -> bytes,
// verify(signature, message, publicKey) -> bool), so the same code runs in the page (noble
// libraries served by the dashboard) and under node in the unit tests.

export class VerifyError extends Error {}

const PRECOMMIT = 2n;
const FLAG_COMMIT = 2;
const ED25519 = "tendermint/PubKeyEd25519";
const enc = new TextEncoder();

function fail(message) { throw new VerifyError(message); }

// ---- bytes ------------------------------------------------------------------------------
function concat(...parts) {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

function toHex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""); }

function fromHex(text, what) {
  const s = String(text ?? "");
  if (s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) fail(`bad hex in ${what}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromB64(text, what) {
  try {
    return Uint8Array.from(atob(String(text ?? "")), (c) => c.charCodeAt(0));
  } catch (e) {
    fail(`bad base64 in ${what}`);
  }
}

function toB64(b) { return btoa(String.fromCharCode(...b)); }

function eq(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

function int(v, what) {
  const s = String(v ?? "");
  if (!/^-?[0-9]+$/.test(s)) fail(`${what} is not a whole number`);
  return BigInt(s);
}

// ---- protobuf encoding (proto3: default values are omitted) -----------------------------
function uvarint(n) {
  let v = BigInt.asUintN(64, BigInt(n));
  const out = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) out.push(byte | 0x80); else { out.push(byte); return Uint8Array.from(out); }
  }
}

function fVarint(field, n) { return BigInt(n) ? concat(uvarint(field << 3), uvarint(n)) : new Uint8Array(); }
function fBytes(field, b, always) {
  return b.length || always ? concat(uvarint((field << 3) | 2), uvarint(b.length), b) : new Uint8Array();
}
function fSfixed64(field, n) {
  if (!BigInt(n)) return new Uint8Array();
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n), true);
  return concat(uvarint((field << 3) | 1), out);
}

function timestamp(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(String(text ?? ""));
  if (!m) fail(`bad time ${JSON.stringify(text)}`);
  const seconds = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  const nanos = m[7] ? Number(m[7].padEnd(9, "0")) : 0;
  return concat(fVarint(1, seconds), fVarint(2, nanos));
}

function blockId(raw) {
  const parts = (raw && raw.parts) || {};
  const psh = concat(fVarint(1, int(parts.total ?? 0, "part set total")), fBytes(2, fromHex(parts.hash, "part set hash")));
  const hash = fromHex(raw && raw.hash, "block id hash");
  return { bytes: concat(fBytes(1, hash), fBytes(2, psh, true)), empty: !hash.length && !psh.length };
}

// ---- CometBFT hashes --------------------------------------------------------------------
function merkleRoot(crypto, items) {
  if (items.length === 0) return crypto.sha256(new Uint8Array());
  if (items.length === 1) return crypto.sha256(concat(Uint8Array.of(0), items[0]));
  let split = 1;
  while (split * 2 < items.length) split *= 2;
  return crypto.sha256(concat(Uint8Array.of(1), merkleRoot(crypto, items.slice(0, split)), merkleRoot(crypto, items.slice(split))));
}

export function headerHash(crypto, h) {
  if (!h || typeof h !== "object" || !h.version) fail("malformed header");
  const b = (name) => fBytes(1, fromHex(h[name], name));
  return merkleRoot(crypto, [
    concat(fVarint(1, int(h.version.block, "version")), fVarint(2, int(h.version.app ?? 0, "version"))),
    fBytes(1, enc.encode(String(h.chain_id ?? ""))),
    fVarint(1, int(h.height, "height")),
    timestamp(h.time),
    blockId(h.last_block_id).bytes,
    b("last_commit_hash"), b("data_hash"), b("validators_hash"), b("next_validators_hash"),
    b("consensus_hash"), b("app_hash"), b("last_results_hash"), b("evidence_hash"), b("proposer_address"),
  ]);
}

export function voteSignBytes(chainId, height, round, rawBlockId, time) {
  const bid = blockId(rawBlockId);
  const body = concat(
    fVarint(1, PRECOMMIT), fSfixed64(2, height), fSfixed64(3, round),
    bid.empty ? new Uint8Array() : fBytes(4, bid.bytes), fBytes(5, timestamp(time), true),
    fBytes(6, enc.encode(chainId)),
  );
  return concat(uvarint(body.length), body);
}

function validator(crypto, raw) {
  const key = (raw && raw.pub_key) || {};
  if (key.type !== ED25519) fail(`unsupported validator key type ${JSON.stringify(key.type)}`);
  const pub = fromB64(key.value, "validator key");
  const power = int(raw.voting_power ?? raw.power ?? 0, "voting power");
  if (pub.length !== 32 || power <= 0n) fail("validator with a bad key or non-positive power");
  return { pub, power, address: toHex(crypto.sha256(pub).slice(0, 20)) };
}

function validatorSetHash(crypto, vals) {
  return merkleRoot(crypto, vals.map((v) => concat(fBytes(1, fBytes(1, v.pub)), fVarint(2, v.power))));
}

function sortedSet(vals) {
  return [...vals].sort((a, b) => (a.power === b.power ? (a.address < b.address ? -1 : 1) : a.power > b.power ? -1 : 1));
}

// ---- commits ----------------------------------------------------------------------------
function commitOf(crypto, header, commit) {
  const hh = headerHash(crypto, header);
  if (!commit || !Array.isArray(commit.signatures) || !commit.block_id) fail("malformed commit");
  const height = int(header.height, "height");
  if (int(commit.height ?? -1, "commit height") !== height) fail("commit is for another height");
  if (toHex(fromHex(commit.block_id.hash, "block id")) !== toHex(hh)) {
    fail(`commit signs block ${commit.block_id.hash}, but the header hashes to ${toHex(hh)}`);
  }
  return { hh, height, round: int(commit.round ?? 0, "round"), blockId: commit.block_id, sigs: commit.signatures };
}

function checkSig(crypto, chainId, c, sig, v) {
  const msg = voteSignBytes(chainId, c.height, c.round, c.blockId, sig.timestamp);
  let ok = false;
  try { ok = crypto.verify(fromB64(sig.signature, "signature"), msg, v.pub); } catch (e) { ok = false; }
  if (!ok) fail(`bad precommit signature from ${v.address}`);
}

// >2/3 of `vals` (the set header.validators_hash names) signed the header; returns its hash.
export function verifyCommit(crypto, chainId, header, commit, vals) {
  if (String(header && header.chain_id) !== chainId) fail(`header is for chain ${header && header.chain_id}, not ${chainId}`);
  const c = commitOf(crypto, header, commit);
  if (toHex(fromHex(header.validators_hash, "validators_hash")) !== toHex(validatorSetHash(crypto, vals))) {
    fail("the header's validators_hash is not the trusted validator set");
  }
  if (c.sigs.length !== vals.length) fail(`commit has ${c.sigs.length} signatures for ${vals.length} validators`);
  let total = 0n, signed = 0n;
  vals.forEach((v, i) => {
    total += v.power;
    const sig = c.sigs[i] || {};
    if (Number(sig.block_id_flag) !== FLAG_COMMIT) return;
    if (String(sig.validator_address || "").toLowerCase() !== v.address) fail("commit signature names the wrong validator");
    checkSig(crypto, chainId, c, sig, v);
    signed += v.power;
  });
  if (3n * signed <= 2n * total) fail(`commit carries ${signed} of ${total} voting power, not more than 2/3`);
  return c.hh;
}

// >1/3 of the trusted set's power signed the header (CometBFT's VerifyCommitLightTrusting).
function verifyCommitTrusting(crypto, chainId, header, commit, trusted) {
  const c = commitOf(crypto, header, commit);
  const byAddress = new Map(trusted.map((v) => [v.address, v]));
  const total = trusted.reduce((s, v) => s + v.power, 0n);
  const seen = new Set();
  let signed = 0n;
  for (const sig of c.sigs) {
    if (Number(sig.block_id_flag) !== FLAG_COMMIT) continue;
    const address = String(sig.validator_address || "").toLowerCase();
    const v = byAddress.get(address);
    if (!v) continue;
    if (seen.has(address)) fail(`commit carries two signatures of ${address}`);
    seen.add(address);
    checkSig(crypto, chainId, c, sig, v);
    signed += v.power;
    if (3n * signed > total) return;
  }
  fail(`the trusted validators signing header ${c.height} hold ${signed} of ${total} power, not more than 1/3`);
}

function walkTrustPath(crypto, chainId, trustedHash, steps) {
  let prev = null;
  for (const step of steps) {
    const h = step.header;
    const named = toHex(fromHex(h.validators_hash, "validators_hash"));
    const height = int(h.height, "height");
    if (prev === null) {
      if (named !== trustedHash) fail(`header ${height} is not signed by the trusted validator set`);
    } else if (height <= prev.height) {
      fail(`header ${height} does not come after header ${prev.height}`);
    } else if (height === prev.height + 1n) {
      if (named !== prev.next) fail(`header ${height} is not signed by the set header ${prev.height} named`);
    } else if (named !== prev.own && named !== prev.next) {
      if (String(h.chain_id) !== chainId) fail(`header is for chain ${h.chain_id}, not ${chainId}`);
      verifyCommitTrusting(crypto, chainId, h, step.commit, prev.vals);
    }
    const hash = verifyCommit(crypto, chainId, h, step.commit, step.vals);
    prev = {
      height, hash: toHex(hash), vals: step.vals, own: named,
      next: toHex(fromHex(h.next_validators_hash, "next_validators_hash")),
    };
  }
  return prev;
}

// ---- the app's state trie proof (gridwire/proof.py) -------------------------------------
function verifyTrieProof(crypto, root, key, value, levels) {
  const kh = crypto.sha256(key);
  if (!levels.length) return false;
  let expected = root;
  for (let depth = 0; depth < levels.length; depth++) {
    const level = levels[depth];
    if (level.length !== 512 || !eq(crypto.sha256(concat(Uint8Array.of(1), level)), expected)) return false;
    const b = kh[depth >> 1];
    const nib = depth % 2 === 0 ? b >> 4 : b & 0x0f;
    expected = level.slice(nib * 32, nib * 32 + 32);
  }
  return eq(expected, crypto.sha256(concat(Uint8Array.of(0), kh, crypto.sha256(value))));
}

// ---- the record -------------------------------------------------------------------------
// Decode a flat message of scalar fields (`fields`: [{number, name, json_name, kind}] with kind
// uint64, bytes or string) into {name: canonical JSON value}; unknown fields are refused.
function decodeRecord(bytes, fields) {
  const byNumber = new Map(fields.map((f) => [f.number, f]));
  const out = {};
  let i = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (i >= bytes.length || shift > 63n) fail("the record is not a retirement");
      const b = bytes[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < bytes.length) {
    const tag = varint();
    const f = byNumber.get(Number(tag >> 3n));
    const wire = Number(tag & 7n);
    if (!f) fail(`the record has a field (${tag >> 3n}) a retirement does not have`);
    if (f.kind === "uint64" && wire === 0) {
      out[f.name] = BigInt.asUintN(64, varint()).toString();
    } else if ((f.kind === "bytes" || f.kind === "string") && wire === 2) {
      const n = Number(varint());
      if (i + n > bytes.length) fail("the record is truncated");
      const raw = bytes.slice(i, i + n);
      i += n;
      out[f.name] = f.kind === "bytes" ? toHex(raw) : new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } else {
      fail(`the record's field ${f.name} has the wrong wire type`);
    }
  }
  for (const f of fields) if (!(f.name in out)) out[f.name] = f.kind === "uint64" ? "0" : "";
  return out;
}

function sameRetirement(proven, given, fields) {
  if (!given || typeof given !== "object") fail("the export has no retirement");
  const known = new Set(fields.flatMap((f) => [f.name, f.json_name]));
  for (const k of Object.keys(given)) if (!known.has(k)) fail(`the export's retirement has an unknown field ${k}`);
  for (const f of fields) {
    const raw = given[f.json_name] ?? given[f.name];
    let value;
    if (f.kind === "uint64") value = raw === undefined ? "0" : int(raw, f.name).toString();
    else if (f.kind === "bytes") value = raw === undefined ? "" : toHex(fromB64(raw, f.name));
    else value = raw === undefined ? "" : String(raw);
    if (value !== proven[f.name]) fail(`the export's retirement says ${f.name} = ${value}, the proven record says ${proven[f.name]}`);
  }
}

// ---- the export ---------------------------------------------------------------------------
function field(obj, snake) {
  const camel = snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return obj[camel] ?? obj[snake];
}

function parseJSON(text, what) {
  try { return JSON.parse(text); } catch (e) { fail(`${what} is not JSON`); }
}

function signedOf(text, what) {
  const s = parseJSON(String(text ?? ""), what);
  if (!s || typeof s.header !== "object" || typeof s.commit !== "object" || !s.header || !s.commit) fail(`${what} has no header and commit`);
  return s;
}

function validatorsOf(crypto, text, what) {
  const list = parseJSON(String(text ?? ""), what);
  if (!Array.isArray(list)) fail(`${what} is not a list`);
  return list.map((v) => validator(crypto, v));
}

// The trust anchor: {kind: "validator set"|"header", hash (hex)} from the text the user gave.
export function parseAnchor(crypto, text) {
  const t = String(text ?? "").trim();
  if (t.startsWith("{")) {
    const g = parseJSON(t, "the trust anchor");
    if (!g || !Array.isArray(g.validators) || g.validators.length === 0) fail("the trust anchor is a JSON file without validators: give a genesis file");
    return { kind: "genesis validator set", hash: toHex(validatorSetHash(crypto, sortedSet(g.validators.map((v) => validator(crypto, v))))), chainId: g.chain_id };
  }
  if (!/^[0-9a-fA-F]{64}$/.test(t)) fail("the trust anchor must be a genesis file or a 64-hex-digit hash");
  return { kind: "hash", hash: t.toLowerCase() };
}

// Verify `exportText` (the protobuf JSON of a RetirementExport) from `anchorText`. Returns
// {retirement, height, chainId, appHash, headerHash, trust}; throws VerifyError when anything fails.
export function verifyExport(crypto, contract, exportText, anchorText) {
  const anchor = parseAnchor(crypto, anchorText);
  const ex = parseJSON(String(exportText ?? ""), "the export");
  if (!ex || typeof ex !== "object") fail("the export is not a retirement export");
  const chainId = String(field(ex, "chain_id") ?? "");
  const height = int(field(ex, "height") ?? 0, "the export's height");
  const signed = signedOf(field(ex, "signed_header_json"), "the export's signed header");
  const vals = validatorsOf(crypto, field(ex, "validators_json"), "the export's validators");
  const steps = (field(ex, "trust_steps") || []).map((s, i) => {
    const sh = signedOf(field(s, "signed_header_json"), `trust step ${i + 1}`);
    return { header: sh.header, commit: sh.commit, vals: validatorsOf(crypto, field(s, "validators_json"), `trust step ${i + 1}`) };
  });
  const exportedHash = toHex(fromB64(field(ex, "header_hash"), "header hash"));
  const appHash = fromB64(field(ex, "app_hash"), "app hash");
  if (anchor.chainId !== undefined && String(anchor.chainId) !== chainId) fail(`the export is for chain ${chainId}, the genesis file for ${anchor.chainId}`);

  let trust;
  const ownSet = toHex(validatorSetHash(crypto, vals));
  const recomputed = toHex(headerHash(crypto, signed.header));
  if (anchor.kind === "hash" && anchor.hash === recomputed) {
    trust = "the exported header is the trusted header";
  } else {
    const last = walkTrustPath(crypto, chainId, anchor.hash, steps);
    if (last === null) {
      if (ownSet !== anchor.hash) fail("the export's validator set is not the trusted one (and the trust anchor is not the exported header's hash)");
      trust = `the exported header is signed by the trusted validator set (${anchor.kind})`;
    } else {
      if (last.height > height + 1n || (last.height === height + 1n && last.hash !== exportedHash)) {
        fail(`trust step ${last.height} does not lead to the exported header ${height + 1n}`);
      }
      if (ownSet !== last.own && ownSet !== last.next) fail("the trust steps do not end at the exported header's validator set");
      trust = `${steps.length} trust step(s) lead from the trusted validator set (${anchor.kind}) to the exported header's signers`;
    }
  }
  const hh = toHex(verifyCommit(crypto, chainId, signed.header, signed.commit, vals));
  if (int(signed.header.height, "height") !== height + 1n || hh !== exportedHash) fail(`the header is not block ${height + 1n} with the exported hash`);
  if (toHex(fromHex(signed.header.app_hash, "app_hash")) !== toHex(appHash)) fail("the header does not carry the exported app hash");

  const record = fromB64(field(ex, "record"), "record");
  const key = fromB64(field(ex, "key"), "key");
  const proven = decodeRecord(record, contract.retirement_fields);
  const idBytes = new Uint8Array(8);
  new DataView(idBytes.buffer).setBigUint64(0, BigInt(proven.retirement_id));
  if (!eq(key, concat(fromHex(contract.retirement_key_prefix, "prefix"), idBytes))) fail("the record is not at its retirement's key");
  sameRetirement(proven, ex.retirement, contract.retirement_fields);
  const proof = ex.proof || {};
  const levels = (proof.levels || []).map((l, i) => fromB64(l, `proof level ${i}`));
  if (!verifyTrieProof(crypto, appHash, key, record, levels)) fail("the Merkle proof does not match the app hash");
  return { retirement: proven, height: height.toString(), chainId, appHash: toHex(appHash), headerHash: hh, trust };
}

export { toB64 };
