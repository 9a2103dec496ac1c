// The Audit view: verifies a retirement export here, in the browser (static/verify.js), with
// Ed25519 and SHA-2 from the noble libraries the dashboard serves from its own node_modules.
// Nothing is sent anywhere: the export and the trust anchor stay in the page; the only request is
// for the chain's record layout (/api/audit-contract), which holds no data.
import * as ed from "/vendor/noble-ed25519/index.js";
import { sha256, sha512 } from "/vendor/noble-hashes/sha2.js";
import { verifyExport, VerifyError } from "/static/verify.js";

ed.hashes.sha512 = sha512;
const crypto = {
  sha256: (b) => sha256(b),
  verify: (sig, msg, pub) => sig.length === 64 && ed.verify(sig, msg, pub),
};
let contract = null;

function text(tag, attrs, value) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.textContent = value;
  return node;
}

function show(result) {
  const box = document.getElementById("audit-result");
  box.replaceChildren();
  if (result.error) {
    box.append(text("p", { class: "error", id: "audit-verdict" }, "NOT VERIFIED: " + result.error));
    return;
  }
  const r = result.retirement;
  box.append(text("p", { class: "ok", id: "audit-verdict", "data-retirement-id": r.retirement_id, "data-wh": r.wh },
    `VERIFIED in this browser: retirement ${r.retirement_id} of ${r.wh} Wh at height ${result.height} of ${result.chainId}`));
  box.append(text("p", {}, `Trust: ${result.trust}; header ${result.headerHash.slice(0, 16)}… signed by more than 2/3 of ` +
    `its validators' power; app hash ${result.appHash.slice(0, 16)}…; the record proven under it by the state trie proof.`));
  const t = document.createElement("table");
  t.append(text("caption", {}, "the proven retirement (decoded from the proven record)"));
  const body = document.createElement("tbody");
  for (const [k, v] of Object.entries(r)) {
    const tr = document.createElement("tr");
    tr.append(text("th", { scope: "row" }, k), text("td", { "data-col": k }, v));
    body.append(tr);
  }
  t.append(body);
  const scroll = document.createElement("div");
  scroll.className = "scroll";
  scroll.append(t);
  box.append(scroll);
}

async function verify() {
  const error = document.getElementById("audit-error");
  error.textContent = "";
  document.getElementById("audit-result").replaceChildren(text("p", {}, "verifying…"));
  if (!contract) {
    try {
      const res = await fetch("/api/audit-contract");
      contract = await res.json();
    } catch (e) {
      error.textContent = "the record layout could not be loaded from the dashboard server";
      return;
    }
  }
  const exportText = document.getElementById("audit-export").value;
  const anchor = document.getElementById("audit-anchor").value;
  try {
    show(verifyExport(crypto, contract, exportText, anchor));
  } catch (e) {
    show({ error: e instanceof VerifyError ? e.message : "the export could not be read: " + (e && e.message) });
  }
}

function loadFile(inputId, targetId) {
  document.getElementById(inputId).addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) document.getElementById(targetId).value = await file.text();
  });
}

document.getElementById("audit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  verify();
});
loadFile("audit-export-file", "audit-export");
loadFile("audit-anchor-file", "audit-anchor");
document.getElementById("audit-form").dataset.ready = "1";
