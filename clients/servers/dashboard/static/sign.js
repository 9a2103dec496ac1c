// Signing in the page: the member loads their key file (it is read here and kept in this
// module's memory only: never sent, never stored), the page builds the transaction for the
// action in the form (accept new terms, cancel an order), signs it with Ed25519 and asks the
// dashboard to relay the signed bytes to a node (/api/broadcast). Other actions show their
// gridctl command (app.js).
// The same key signs read grants: "the dashboard's read key may read as me for 30 minutes"
// (gridwire/read_request.py, ReadGrant), sent with the Home and matching requests so the dashboard
// can read the member's private data from nodes that keep it private; it cannot forge one.
import * as ed from "/vendor/noble-ed25519/index.js";
import { sha256, sha512 } from "/vendor/noble-hashes/sha2.js";
import { TxError, envelope, fromHex, readGrantBytes, seedFromPem, toB64, toHex, txBody, wholeNumber } from "/static/txcodec.js";

ed.hashes.sha512 = sha512;
let key = null; // {seed, pub, address}
let contract = null;

const $ = (id) => document.getElementById(id);
const GRANT_LIFETIME_S = 1800; // half the chain's MAX_GRANT_LIFETIME_S
let grant = null; // {reader, until, b64} for the loaded key


// The read grant for the dashboard's read key, base64 (null: no key loaded or no read key known).
async function readGrant() {
  if (!key) return null;
  const now = Math.floor(Date.now() / 1000);
  if (grant && grant.address === key.address && grant.until - 300 > now) return grant.b64;
  const info = await (await fetch("/api/read-key")).json().catch(() => null);
  if (!info || !info.read_key) return null;
  const until = now + GRANT_LIFETIME_S;
  const seed = key.seed;
  const b64 = toB64(readGrantBytes(key.pub, info.chain_id, fromHex(info.read_key), until, (m) => ed.sign(m, seed)));
  grant = { address: key.address, until, b64 };
  return b64;
}
window.gridledgerReadGrant = readGrant;

function say(id, text, ok) {
  const node = $(id);
  node.textContent = text;
  node.className = ok ? "ok" : "error";
}

function loadKey(text) {
  key = null;
  try {
    const seed = seedFromPem(text);
    const pub = ed.getPublicKey(seed);
    key = { seed, pub, address: toHex(sha256(pub).slice(0, 20)) };
    say("key-status", `key loaded for address ${key.address} (kept in this page only)`, true);
    $("key-status").dataset.address = key.address;
    grant = null;
    if ($("home-summary").dataset.address) $("home-form").requestSubmit(); // read the private parts now
  } catch (e) {
    say("key-status", e instanceof TxError ? e.message : "the key could not be read", false);
    delete $("key-status").dataset.address;
  }
}

function valuesFor(action) {
  if (action === "accept") {
    return { alert_id: wholeNumber($("action-alert").value, "alert id", 1n), new_limit_price: wholeNumber($("action-limit").value, "new limit price") };
  }
  if (action === "order-cancel") return { order_id: wholeNumber($("action-order").value, "order id", 1n) };
  throw new TxError("this action is signed with gridctl: use Show the command");
}

async function signAndSubmit() {
  const out = $("action-result");
  out.textContent = "";
  out.className = "";
  $("action-error").textContent = "";
  const summary = $("home-summary");
  try {
    if (!key) throw new TxError("load your key first");
    if (!summary.dataset.address) throw new TxError("show a member first");
    if (key.address !== summary.dataset.address) throw new TxError(`this key is not ${summary.dataset.ref}'s (its address is ${key.address})`);
    const action = $("action-kind").value;
    const values = valuesFor(action);
    if (!contract) contract = await (await fetch("/api/sign-contract")).json();
    const spec = contract[action];
    const nonce = BigInt(summary.dataset.nonce) + 1n;
    const body = txBody(summary.dataset.chainId, key.pub, nonce, spec, values);
    const tx = envelope(body, ed.sign(body, key.seed));
    out.textContent = "signed here; submitting…";
    const res = await fetch("/api/broadcast", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tx: toB64(tx) }) });
    const d = await res.json().catch(() => ({ error: "bad answer from the dashboard server" }));
    if (!res.ok) throw new TxError(d.error || "HTTP " + res.status);
    out.dataset.hash = d.hash;
    out.dataset.code = d.code;
    if (d.code !== 0) {
      say("action-result", `REFUSED by the chain (code ${d.code}): ${d.log}`, false);
    } else if (d.committed) {
      say("action-result", `committed at height ${d.height}: tx ${d.hash}`, true);
      summary.dataset.nonce = String(nonce);
      $("home-form").requestSubmit();
    } else {
      say("action-result", `submitted (tx ${d.hash}): ${d.log}`, true);
      summary.dataset.nonce = String(nonce);
    }
  } catch (e) {
    say("action-error", e instanceof TxError ? e.message : "signing failed: " + (e && e.message), false);
    out.textContent = "";
  }
}

$("key-file").addEventListener("change", async (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) loadKey(await file.text());
  e.target.value = ""; // the file's content lives only in `key`
});
$("key-forget").addEventListener("click", () => { key = null; grant = null; say("key-status", "no key loaded", true); delete $("key-status").dataset.address; });
$("action-sign").addEventListener("click", signAndSubmit);
$("action-sign").dataset.ready = "1";
