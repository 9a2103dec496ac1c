// Builds and signs a transaction with the dashboard's in-page code (static/txcodec.js) and the
// same noble Ed25519 the page is served: reads {pem, chain_id, nonce, contract, action, values}
// as JSON on stdin, prints {"tx": base64} or {"error": message}; with {pem, chain_id, grant: {reader, until}}
// it prints the read grant the page signs, {"grant": base64}.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dash = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "clients", "servers", "dashboard");
const url = (p) => pathToFileURL(join(dash, p)).href;
const ed = await import(url("node_modules/@noble/ed25519/index.js"));
const { sha512 } = await import(url("node_modules/@noble/hashes/sha2.js"));
const { TxError, envelope, fromHex, readGrantBytes, seedFromPem, toB64, txBody, wholeNumber } = await import(url("static/txcodec.js"));

ed.hashes.sha512 = sha512;
const input = JSON.parse(readFileSync(0, "utf8"));
try {
  const seed = seedFromPem(input.pem);
  if (input.grant) { // {reader hex, until}: the read grant the page signs
    const grant = readGrantBytes(ed.getPublicKey(seed), input.chain_id, fromHex(input.grant.reader), input.grant.until, (m) => ed.sign(m, seed));
    process.stdout.write(JSON.stringify({ grant: toB64(grant) }));
    process.exit(0);
  }
  const values = Object.fromEntries(Object.entries(input.values).map(([k, v]) => [k, wholeNumber(v, k)]));
  const body = txBody(input.chain_id, ed.getPublicKey(seed), BigInt(input.nonce), input.contract[input.action], values);
  process.stdout.write(JSON.stringify({ tx: toB64(envelope(body, ed.sign(body, seed))) }));
} catch (e) {
  if (!(e instanceof TxError)) throw e;
  process.stdout.write(JSON.stringify({ error: e.message }));
}
