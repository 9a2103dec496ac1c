// Transactions built in the page (pure: no DOM, no network), byte for byte what gridwire.tx
// builds: Tx{body, signature} with body = TxBody{chain_id, signer, nonce, messages: [Any]}, each
// message a flat protobuf of whole numbers whose type URL and field numbers the dashboard serves
// from the generated descriptors (/api/sign-contract). The member's key is read from its PKCS#8
// PEM file (what gridctl and the consortium tools write) and stays in the page.

export class TxError extends Error {}

const MAX_INT64 = (1n << 63n) - 1n;
const ED25519_PKCS8_PREFIX = "302e020100300506032b657004220420";
const enc = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

function uvarint(n) {
  let v = BigInt(n);
  const out = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) out.push(byte | 0x80); else { out.push(byte); return Uint8Array.from(out); }
  }
}

const fVarint = (field, n) => (BigInt(n) ? concat(uvarint(field << 3), uvarint(n)) : new Uint8Array());
const fBytes = (field, b) => (b.length ? concat(uvarint((field << 3) | 2), uvarint(b.length), b) : new Uint8Array());

export function toHex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""); }
export function toB64(b) { return btoa(String.fromCharCode(...b)); }

// The 32-byte Ed25519 seed of an unencrypted PKCS#8 PEM private key; TxError otherwise.
export function seedFromPem(text) {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(String(text ?? ""));
  if (!m) throw new TxError("the key must be an unencrypted PKCS#8 PEM file (-----BEGIN PRIVATE KEY-----)");
  let der;
  try {
    der = Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch (e) {
    throw new TxError("the key file's base64 is damaged");
  }
  if (der.length !== 48 || toHex(der.slice(0, 16)) !== ED25519_PKCS8_PREFIX) throw new TxError("the key is not an Ed25519 private key");
  return der.slice(16);
}

// A whole number in [minimum, 2^63-1] from form text; TxError with a message for the page.
export function wholeNumber(text, name, minimum = 0n) {
  const s = String(text ?? "").trim();
  if (s.startsWith("-")) throw new TxError(`${name} must not be negative`);
  if (!/^[0-9]{1,19}$/.test(s)) throw new TxError(`${name} must be a whole number`);
  const v = BigInt(s);
  if (v < BigInt(minimum) || v > MAX_INT64) throw new TxError(`${name} must be between ${minimum} and ${MAX_INT64}`);
  return v;
}

// The TxBody bytes of one message `spec` ({type_url, fields: {name: number}}) with `values` ({name: BigInt}).
export function txBody(chainId, signer, nonce, spec, values) {
  let msg = new Uint8Array();
  for (const [name, number] of Object.entries(spec.fields).sort((a, b) => a[1] - b[1])) {
    msg = concat(msg, fVarint(number, values[name] ?? 0n));
  }
  const any = concat(fBytes(1, enc.encode(spec.type_url)), fBytes(2, msg));
  return concat(fBytes(1, enc.encode(chainId)), fBytes(2, signer), fVarint(3, nonce), concat(uvarint((4 << 3) | 2), uvarint(any.length), any));
}

// The raw signed transaction: Tx{body, signature}.
export function envelope(body, signature) {
  return concat(fBytes(1, body), fBytes(2, signature));
}

// A member's read grant (gridwire/read_request.py, ReadGrant): "reader may read as me until `until`"
// on `chainId`, signed by `sign(message)` with the member's key `pub`:
// pub (32) | signature (64) | until (8, big-endian) | reader (32).
export function readGrantBytes(pub, chainId, reader, until, sign) {
  const zero = Uint8Array.of(0);
  const message = concat(enc.encode("gridledger.read-grant.v1"), zero, enc.encode(chainId), zero,
    enc.encode(toHex(pub)), zero, enc.encode(toHex(reader)), zero, enc.encode(String(until)));
  const expiry = new Uint8Array(8);
  new DataView(expiry.buffer).setBigUint64(0, BigInt(until));
  return concat(pub, sign(message), expiry, reader);
}

export function fromHex(h) { return Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16)); }
