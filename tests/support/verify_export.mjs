// Runs the dashboard's in-browser verifier (clients/servers/dashboard/static/verify.js) under
// node with the same noble libraries the page is served: reads {contract, export, anchor} as
// JSON on stdin, prints {"verified": true, ...} or {"verified": false, "reason": ...}.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dash = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "clients", "servers", "dashboard");
const url = (p) => pathToFileURL(join(dash, p)).href;
const ed = await import(url("node_modules/@noble/ed25519/index.js"));
const { sha256, sha512 } = await import(url("node_modules/@noble/hashes/sha2.js"));
const { verifyExport, VerifyError } = await import(url("static/verify.js"));

ed.hashes.sha512 = sha512;
const crypto = { sha256: (b) => sha256(b), verify: (sig, msg, pub) => sig.length === 64 && ed.verify(sig, msg, pub) };
const input = JSON.parse(readFileSync(0, "utf8"));
try {
  const r = verifyExport(crypto, input.contract, input.export, input.anchor);
  process.stdout.write(JSON.stringify({ verified: true, ...r }));
} catch (e) {
  if (!(e instanceof VerifyError)) throw e;
  process.stdout.write(JSON.stringify({ verified: false, reason: e.message }));
}
