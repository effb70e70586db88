/**
 * Node-only APIs in src/core against their Web-standard replacements, so that the core runs on
 * Bun, Deno and workerd without Node's globals, and is not slower on Node.
 *
 *   npx tsx bench/web-apis.ts            (ROUNDS=7 ITERATIONS_SCALE=1 by default)
 *
 * Each case runs its arms interleaved (round r starts at arm r mod n: A B, B A, ...), ROUNDS
 * times; per arm the median ns/op and its spread over the rounds, and the ratio to the first arm
 * computed within each round. The load average is printed with every case.
 */
import * as nodeCrypto from 'node:crypto';
import { loadavg } from 'node:os';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SCALE = Number(process.env.ITERATIONS_SCALE ?? 1);

interface Arm {
  name: string;
  /** Runs the operation `n` times; returns something so that the work is not optimized away. */
  run(n: number): unknown;
}

interface Case {
  name: string;
  iterations: number;
  arms: Arm[];
}

let sink: unknown;

function timeArm(arm: Arm, n: number): number {
  const started = process.hrtime.bigint();
  sink = arm.run(n);
  return Number(process.hrtime.bigint() - started) / n;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);

function runCase(c: Case): void {
  const n = Math.max(1, Math.round(c.iterations * SCALE));
  // Warm-up: every arm a full batch, so the JIT has compiled each before the first timed round.
  for (const arm of c.arms) timeArm(arm, n);
  const perArm = new Map<string, number[]>(c.arms.map((a) => [a.name, []]));
  const ratios = new Map<string, number[]>(c.arms.map((a) => [a.name, []]));
  const loads: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    loads.push(loadavg()[0] ?? Number.NaN);
    const round = new Map<string, number>();
    for (let i = 0; i < c.arms.length; i++) {
      const arm = c.arms[(i + r) % c.arms.length]!;
      round.set(arm.name, timeArm(arm, n));
    }
    const base = round.get(c.arms[0]!.name)!;
    for (const [name, ns] of round) {
      perArm.get(name)!.push(ns);
      ratios.get(name)!.push(ns / base);
    }
  }
  console.log(`\n${c.name}  (${n} ops per arm per round, ${ROUNDS} rounds, load ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)})`);
  for (const arm of c.arms) {
    const ns = perArm.get(arm.name)!;
    const ratio = ratios.get(arm.name)!;
    console.log(
      `  ${arm.name.padEnd(44)} median ${fmt(median(ns)).padStart(9)}  (${fmt(Math.min(...ns))} – ${fmt(Math.max(...ns))})` +
        `  vs first: ${median(ratio).toFixed(2)}x (${Math.min(...ratio).toFixed(2)}–${Math.max(...ratio).toFixed(2)})`,
    );
  }
}

// --- UTF-8 byte length (stored-outcome.ts size check, inspect.ts) -----------------------------

const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const encoder = new TextEncoder();

/** The replacement in src/core/encoding.ts: UTF-8 length from the UTF-16 code units. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

const MAX_RESPONSE = 1024 * 1024;
/** stored-outcome.ts's check: counted only when the text could be over the limit. */
function withinLimit(text: string): boolean {
  if (text.length * 3 <= MAX_RESPONSE) return true;
  return utf8Length(text) <= MAX_RESPONSE;
}

function jsonOf(bytes: number, nonAscii: boolean): string {
  const unit = nonAscii ? '{"name":"Zoë Ørsted","city":"Kraków","note":"✓ paid 💳"},' : '{"name":"Ada Lovelace","city":"London","note":"paid by card"},';
  return `[${unit.repeat(Math.max(1, Math.round(bytes / unit.length)))}{}]`;
}

const texts = { small: jsonOf(200, false), smallUnicode: jsonOf(200, true), medium: jsonOf(8 * 1024, true), large: jsonOf(256 * 1024, true) };

function lengthCase(label: string, text: string, iterations: number): Case {
  return {
    name: `UTF-8 byte length, ${label} (${text.length} UTF-16 units)`,
    iterations,
    arms: [
      { name: 'Buffer.byteLength', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += NodeBuffer!.byteLength(text); return s; } },
      { name: 'TextEncoder.encode().length', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += encoder.encode(text).length; return s; } },
      { name: 'utf8Length (code-unit loop)', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += utf8Length(text); return s; } },
      { name: 'size check: length*3 bound, else loop', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += withinLimit(text) ? 1 : 0; return s; } },
    ],
  };
}

// --- base64 of bytes (encoding.ts: Uint8Array values in stored outcomes) -----------------------

function btoaChunked(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(binary);
}
const toBase64 = (Uint8Array.prototype as { toBase64?: () => string }).toBase64;

function base64Case(size: number, iterations: number): Case {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  const arms: Arm[] = [
    { name: 'Buffer.from(bytes).toString("base64")', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += NodeBuffer!.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').length; return s; } },
    { name: 'btoa over chunked binary string', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += btoaChunked(bytes).length; return s; } },
  ];
  if (toBase64) arms.push({ name: 'Uint8Array.prototype.toBase64', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += (toBase64.call(bytes) as string).length; return s; } });
  return { name: `base64 of ${size} bytes`, iterations, arms };
}

// --- random claim tokens (claim.ts) ---------------------------------------------------------------

const webCrypto = globalThis.crypto;
const uuidCase: Case = {
  name: 'claim token: randomUUID',
  iterations: 200_000,
  arms: [
    { name: 'node:crypto randomUUID()', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += nodeCrypto.randomUUID().length; return s; } },
    { name: 'globalThis.crypto.randomUUID()', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += webCrypto.randomUUID().length; return s; } },
  ],
};

// --- SHA-256 (sha256.ts, inspect.ts): what a sync core has ---------------------------------------

const fingerprintText = JSON.stringify({ op: 'checkout', input: { cart: 'c_1', total: 4200, items: [1, 2, 3] } });
const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
const shaArms: Arm[] = [
  { name: 'createHash().update().digest("hex")', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += nodeCrypto.createHash('sha256').update(fingerprintText).digest('hex').length; return s; } },
];
if (oneShot) shaArms.push({ name: 'crypto.hash("sha256", text, "hex")', run: (n) => { let s = 0; for (let i = 0; i < n; i++) s += oneShot('sha256', fingerprintText, 'hex').length; return s; } });
const shaCase: Case = { name: `SHA-256 of a ${fingerprintText.length}-character fingerprint text (sync)`, iterations: 100_000, arms: shaArms };

/** WebCrypto's digest is async: timed on its own (n sequential awaits), for the record. */
async function subtleDigestNs(n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink = await webCrypto.subtle.digest('SHA-256', encoder.encode(fingerprintText));
  return Number(process.hrtime.bigint() - started) / n;
}

console.log(`web-apis bench on ${typeof (globalThis as { Bun?: unknown }).Bun === 'object' ? 'Bun' : `Node ${process.version}`}, ${ROUNDS} rounds`);
runCase(uuidCase);
runCase(lengthCase('200 B ASCII JSON', texts.small, 200_000));
runCase(lengthCase('200 B non-ASCII JSON', texts.smallUnicode, 200_000));
runCase(lengthCase('8 KiB non-ASCII JSON', texts.medium, 20_000));
runCase(lengthCase('256 KiB non-ASCII JSON', texts.large, 400));
runCase(base64Case(64, 100_000));
runCase(base64Case(4096, 10_000));
runCase(base64Case(256 * 1024, 100));
runCase(shaCase);
{
  const rounds: number[] = [];
  await subtleDigestNs(5_000);
  for (let r = 0; r < ROUNDS; r++) rounds.push(await subtleDigestNs(Math.round(20_000 * SCALE)));
  console.log(`\nSHA-256 via crypto.subtle.digest (async, awaited one at a time): median ${fmt(median(rounds))} (${fmt(Math.min(...rounds))} – ${fmt(Math.max(...rounds))})`);
}
void sink;
