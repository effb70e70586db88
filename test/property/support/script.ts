/**
 * Scripts of engine calls for the differential property test: what they are, how one runs against
 * a store, what it observably did (the trace), and what an ideal idempotency layer keyed by the
 * raw (tenant, operation, key) triple would have done (the oracle).
 */
import fc from 'fast-check';
import { GLOBAL_TENANT, Idempotency, type IdempotentCall, type Tenant } from '../../../src/core/engine.js';
import { ManualClock } from '../../../src/core/clock.js';
import { isIdempotencyError } from '../../../src/core/errors.js';
import type { IdempotencyStore } from '../../../src/core/store.js';
import { encodeScopePart } from '../../../src/core/scope.js';
import { INPUT_TWINS, INPUT_TWIN_NAMES, type InputTwin, LEASE, RETENTION, keyPool, twinOf, validKey, legacyScopePart, operationPool, payloadPool, tenantPool } from './arbitraries.js';
import { type Shape, sameInput, shape } from './shape.js';

// ---------------------------------------------------------------------------------------------
// What a script is

/** How the work of a call ends. */
export type Ending =
  | { kind: 'value'; value: number }
  /** A deterministic client error (4xx the default policy stores): an Error, or a plain object. */
  | { kind: 'refuse'; value: number; status: number; asObject: boolean }
  /** An unexpected error (no status, 5xx or a retryable 4xx): released, a retry runs again. */
  | { kind: 'crash'; status: number | null };

export type Behaviour =
  | { kind: 'plain'; end: Ending }
  /** Inside the work, the same triple again (reject mode, with input `input`): must be 409 or 422. */
  | { kind: 'nested'; input: number; end: Ending }
  /** The work blocks until a later `finish` step: other steps run while it holds the claim. */
  | { kind: 'hold'; end: Ending }
  /** `copies` identical calls at once: one runs (its work waits until every copy has been answered), the others get 409. */
  | { kind: 'race'; copies: number; end: Ending };

export interface Universe {
  tenants: Tenant[];
  operations: string[];
  keys: string[];
  inputs: unknown[];
  values: unknown[];
}

type Change = 'none' | 'input' | 'tenant' | 'operation' | 'key' | 'twinTenant' | 'twinOperation' | 'twinKey' | 'twinInput';

/** Steps as generated: indexes into the universe, `again` refers to an earlier call. */
export type StepSpec =
  | { kind: 'call'; tenant: number; operation: number; key: number; input: number; behaviour: Behaviour }
  | { kind: 'again'; back: number; change: Change; to: number; twin: { specific: boolean; pick: number }; inputTwin: InputTwin; behaviour: Behaviour }
  | { kind: 'advance'; ms: number }
  | { kind: 'purge' }
  | { kind: 'finish' };

export interface Call {
  tenant: Tenant;
  operation: string;
  key: string;
  input: unknown;
  behaviour: Behaviour;
}

export type Step = { kind: 'call'; call: Call } | { kind: 'advance'; ms: number } | { kind: 'purge' } | { kind: 'finish' };

export interface Script {
  universe: Universe;
  steps: Step[];
}

const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/** Turns generated steps into concrete calls; one `finish` per held call is appended at the end. */
export function resolve(generated: Universe, specs: StepSpec[]): Script {
  // Twins made by `again` steps join the pools (copies), so that counterexamples can name them.
  const universe = { ...generated, tenants: [...generated.tenants], operations: [...generated.operations], keys: [...generated.keys] };
  const join = <T>(pool: T[], value: T): T => {
    if (!pool.includes(value)) pool.push(value);
    return value;
  };
  const steps: Step[] = [];
  const calls: Call[] = [];
  for (const spec of specs) {
    if (spec.kind === 'call' || spec.kind === 'again') {
      let call: Call;
      if (spec.kind === 'call' || calls.length === 0) {
        const s = spec.kind === 'call' ? spec : { tenant: spec.to, operation: spec.to, key: spec.to, input: spec.to };
        call = { tenant: at(universe.tenants, s.tenant), operation: at(universe.operations, s.operation), key: at(universe.keys, s.key), input: at(universe.inputs, s.input), behaviour: spec.behaviour };
      } else {
        const earlier = calls[calls.length - 1 - (spec.back % calls.length)] as Call;
        call = { ...earlier, behaviour: spec.behaviour };
        if (spec.change === 'input') call.input = at(universe.inputs, spec.to);
        if (spec.change === 'tenant') call.tenant = at(universe.tenants, spec.to);
        if (spec.change === 'operation') call.operation = at(universe.operations, spec.to);
        if (spec.change === 'key') call.key = at(universe.keys, spec.to);
        if (spec.change === 'twinTenant' && call.tenant !== GLOBAL_TENANT) call.tenant = join(universe.tenants, twinOf(call.tenant, spec.twin));
        if (spec.change === 'twinOperation') call.operation = join(universe.operations, twinOf(call.operation, spec.twin));
        if (spec.change === 'twinKey') call.key = join(universe.keys, twinOf(call.key, spec.twin, validKey));
        if (spec.change === 'twinInput') call.input = join(universe.inputs, INPUT_TWINS[spec.inputTwin](call.input));
      }
      calls.push(call);
      steps.push({ kind: 'call', call });
    } else {
      steps.push(spec);
    }
  }
  const holds = calls.filter((c) => c.behaviour.kind === 'hold').length;
  for (let i = 0; i < holds; i++) steps.push({ kind: 'finish' });
  return { universe, steps };
}

// ---------------------------------------------------------------------------------------------
// Generators

const index = fc.nat({ max: 9 });
const ending: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('value' as const), value: index }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('refuse' as const), value: index, status: fc.constantFrom(400, 402, 404, 410, 422), asObject: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), status: fc.constantFrom(null, 500, 503, 409, 429, 401) }) },
);
const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('plain' as const), end: ending }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nested' as const), input: index, end: ending }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hold' as const), end: ending }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('race' as const), copies: fc.integer({ min: 2, max: 4 }), end: ending }) },
);
const step: fc.Arbitrary<StepSpec> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('call' as const), tenant: index, operation: index, key: index, input: index, behaviour }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('again' as const),
      back: fc.nat({ max: 4 }),
      change: fc.constantFrom<Change>('none', 'none', 'input', 'tenant', 'operation', 'key', 'twinTenant', 'twinTenant', 'twinOperation', 'twinKey', 'twinInput', 'twinInput'),
      to: index,
      inputTwin: fc.constantFrom(...INPUT_TWIN_NAMES),
      twin: fc.record({ specific: fc.boolean(), pick: fc.nat({ max: 30 }) }),
      behaviour,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(1, 1_000, LEASE - 1, LEASE, LEASE + 1, RETENTION - 1, RETENTION, RETENTION + 1, RETENTION + LEASE),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'purge' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'finish' as const }) },
);

export function scriptArbitrary(maxSteps: number): fc.Arbitrary<Script> {
  return fc
    .record({
      universe: fc.record({ tenants: tenantPool, operations: operationPool, keys: keyPool, inputs: payloadPool, values: payloadPool }),
      steps: fc.array(step, { minLength: 1, maxLength: maxSteps, size: 'medium' }),
    })
    .map(({ universe, steps }) => {
      const script = resolve(universe, steps);
      return Object.assign(script, { [fc.toStringMethod]: () => renderScript(script) });
    });
}

// ---------------------------------------------------------------------------------------------
// Running a script

export type Result =
  | { type: 'outcome'; replayed: boolean; stored: boolean; fence: number; reclaimed: boolean; ok: boolean; value: unknown }
  | { type: 'thrown'; error: unknown };

export interface Observation {
  step: number;
  /** How many times this step's work ran (0 or 1). */
  executions: number;
  /** How many times the work of its nested duplicate ran (must be 0). */
  nestedExecutions: number;
  result?: Result;
  /** `race`: the answer of each copy. */
  raced?: Result[];
  nested?: Result;
  /** A held call whose work is running; its result arrives with a `finish` step. */
  held?: boolean;
  /** `finish`: the step whose held call was let go (null: none was held). */
  finished?: number | null;
  purged?: number | { thrown: unknown };
}

/** What the work of a call returns or throws: built anew on every run, identical each time. */
export function endingOutcome(end: Ending, values: unknown[]): { ok: boolean; value: unknown } {
  switch (end.kind) {
    case 'value':
      return { ok: true, value: at(values, end.value) };
    case 'refuse': {
      const fields = { code: 'REFUSED', status: end.status, details: at(values, end.value) };
      return { ok: false, value: end.asObject ? fields : Object.assign(new Error('refused'), fields) };
    }
    case 'crash':
      return { ok: false, value: end.status === null ? new Error('crash') : Object.assign(new Error('crash'), { status: end.status }) };
  }
}

async function settle(promise: Promise<{ replayed: boolean; stored: boolean; fence: number; reclaimed: boolean; outcome: { ok: boolean; value?: unknown; error?: unknown } }>): Promise<Result> {
  try {
    const e = await promise;
    return { type: 'outcome', replayed: e.replayed, stored: e.stored, fence: e.fence, reclaimed: e.reclaimed, ok: e.outcome.ok, value: e.outcome.ok ? e.outcome.value : e.outcome.error };
  } catch (error) {
    return { type: 'thrown', error };
  }
}

/** Runs `script` on a fresh engine over `store`, with a manual clock starting at `start`. */
export async function runScript(script: Script, store: IdempotencyStore, start: number): Promise<Observation[]> {
  const clock = new ManualClock(start);
  const engine = new Idempotency({ store, clock, lease: LEASE, retention: RETENTION, heartbeat: false, inProgress: 'reject' });
  const { values, inputs } = script.universe;
  const observations: Observation[] = [];
  const pending: { step: number; release: () => void; done: Promise<Result> }[] = [];

  for (const [i, step] of script.steps.entries()) {
    const obs: Observation = { step: i, executions: 0, nestedExecutions: 0 };
    observations.push(obs);
    if (step.kind === 'advance') {
      clock.advance(step.ms);
    } else if (step.kind === 'purge') {
      try {
        obs.purged = await engine.purgeExpired();
      } catch (error) {
        obs.purged = { thrown: error };
      }
    } else if (step.kind === 'finish') {
      const held = pending.shift();
      obs.finished = held?.step ?? null;
      if (held) {
        held.release();
        obs.result = await held.done;
      }
    } else if (step.call.behaviour.kind === 'race') {
      const { call } = step;
      const { copies, end } = step.call.behaviour;
      let arrived = 0;
      let everyone!: () => void;
      const allAnswered = new Promise<void>((r) => (everyone = r));
      const racer = async (): Promise<Result> => {
        let counted = false;
        const arrive = () => {
          if (counted) return;
          counted = true;
          if (++arrived === copies) everyone();
        };
        const work = async () => {
          obs.executions++;
          arrive();
          await allAnswered;
          const outcome = endingOutcome(end, values);
          if (!outcome.ok) throw outcome.value;
          return outcome.value;
        };
        const result = await settle(engine.execute({ tenant: call.tenant, operation: call.operation, key: call.key, input: call.input }, work));
        arrive();
        return result;
      };
      obs.raced = await Promise.all(Array.from({ length: copies }, racer));
    } else {
      const { call } = step;
      const { behaviour } = call;
      let entered!: () => void;
      const enteredSignal = new Promise<'entered'>((r) => (entered = () => r('entered')));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const work = async () => {
        obs.executions++;
        if (behaviour.kind === 'nested') {
          const again: IdempotentCall = { tenant: call.tenant, operation: call.operation, key: call.key, input: at(inputs, behaviour.input), inProgress: 'reject' as const };
          obs.nested = await settle(
            engine.execute(again, () => {
              obs.nestedExecutions++;
              return 'the nested duplicate ran';
            }),
          );
        }
        if (behaviour.kind === 'hold') {
          entered();
          await gate;
        }
        const outcome = endingOutcome(behaviour.end, values);
        if (!outcome.ok) throw outcome.value;
        return outcome.value;
      };
      const done = settle(engine.execute({ tenant: call.tenant, operation: call.operation, key: call.key, input: call.input }, work));
      if (behaviour.kind === 'hold' && (await Promise.race([enteredSignal, done.then(() => 'settled' as const)])) === 'entered') {
        obs.held = true;
        pending.push({ step: i, release, done });
      } else {
        obs.result = await done;
      }
    }
  }
  return observations;
}

// ---------------------------------------------------------------------------------------------
// Traces: what is observable, in comparable form

function describeThrown(error: unknown): Shape {
  return isIdempotencyError(error) ? { code: error.code } : { unexpected: shape(error) };
}

function describeResult(result: Result | undefined): Shape {
  if (!result) return null;
  if (result.type === 'thrown') return { thrown: describeThrown(result.error) };
  const { replayed, stored, fence, reclaimed, ok } = result;
  return { replayed, stored, fence: String(fence), reclaimed, ok, value: shape(result.value) };
}

export function traceOf(observations: Observation[]): Shape[] {
  return observations.map((o) => {
    const entry: { [key: string]: Shape } = { step: String(o.step), executions: String(o.executions), nestedExecutions: String(o.nestedExecutions) };
    if (o.result) entry.result = describeResult(o.result);
    // Which copy of a race ran is up to the store: compare the answers as a multiset.
    if (o.raced) entry.raced = o.raced.map((r) => JSON.stringify(describeResult(r))).sort();
    if (o.nested) entry.nested = describeResult(o.nested);
    if (o.held) entry.held = true;
    if (o.finished !== undefined) entry.finished = o.finished === null ? null : String(o.finished);
    if (o.purged !== undefined) entry.purged = typeof o.purged === 'number' ? String(o.purged) : { thrown: describeThrown(o.purged.thrown) };
    return entry;
  });
}

/** The first step where two traces differ, as a message; null when they are identical. */
export function compareTraces(script: Script, expected: Shape[], actual: Shape[]): string | null {
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const a = JSON.stringify(expected[i]);
    const b = JSON.stringify(actual[i]);
    if (a !== b) {
      return `step ${i} (${renderStep(script, i)}) differs from MemoryStore:\n  MemoryStore: ${abbreviate(a)}\n  this store:  ${abbreviate(b)}`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The oracle: an ideal layer keyed by the raw triple

interface IdealRecord {
  status: 'in_progress' | 'completed';
  input: unknown;
  /** The step that holds the claim. */
  token: number;
  fence: number;
  leaseEnd: number | null;
  expiresAt: number;
  outcome?: { ok: boolean; value: unknown };
}

/** The identity of a raw triple: two triples share a record only when this is equal. */
export function rawId(call: Pick<Call, 'tenant' | 'operation' | 'key'>): string {
  return JSON.stringify([call.tenant === GLOBAL_TENANT ? null : call.tenant, call.operation, call.key]);
}

const storable = (end: Ending) => end.kind !== 'crash';
const isExpired = (r: IdealRecord, now: number) => r.expiresAt <= now;
const isReclaimable = (r: IdealRecord, now: number) => isExpired(r, now) || (r.status === 'in_progress' && r.leaseEnd !== null && r.leaseEnd <= now);

function expectCode(result: Result | undefined, code: string): string | null {
  if (result?.type === 'thrown' && isIdempotencyError(result.error) && result.error.code === code) return null;
  return `expected ${code}, got ${abbreviate(JSON.stringify(describeResult(result)))}`;
}

function expectOutcome(result: Result | undefined, want: { replayed: boolean; stored: boolean; fence: number; reclaimed: boolean; ok: boolean; value: unknown }): string | null {
  const expected = JSON.stringify(describeResult({ type: 'outcome', ...want }));
  const actual = JSON.stringify(describeResult(result));
  return expected === actual ? null : `expected ${abbreviate(expected)}\n  got      ${abbreviate(actual)}`;
}

/**
 * Replays the script on the ideal layer and returns the first step where the observations differ
 * from it (null: none). Every store, MemoryStore included, must match it: a fresh or expired or
 * released triple executes, a replay gives back exactly what its own triple's execution produced,
 * 422 comes only from the same raw triple with another input, and no two raw triples share a record.
 */
export function checkIdeal(script: Script, observations: Observation[]): string | null {
  const records = new Map<string, IdealRecord>();
  const pending: { step: number; id: string; fence: number; reclaimed: boolean; end: Ending }[] = [];
  const { values, inputs } = script.universe;
  let now = 0;
  const fail = (i: number, message: string) => `step ${i} (${renderStep(script, i)}): ${message}`;

  for (const [i, step] of script.steps.entries()) {
    const obs = observations[i];
    if (!obs) return fail(i, 'no observation');
    if (step.kind === 'advance') {
      now += step.ms;
      continue;
    }
    if (step.kind === 'purge') {
      let count = 0;
      for (const [id, r] of records) {
        if (r.expiresAt <= now && (r.status === 'completed' || (r.leaseEnd ?? 0) <= now)) {
          records.delete(id);
          count++;
        }
      }
      if (obs.purged !== count) return fail(i, `expected ${count} purged, got ${abbreviate(JSON.stringify(traceOf([obs])[0]))}`);
      continue;
    }
    if (step.kind === 'finish') {
      const held = pending.shift();
      if ((obs.finished ?? null) !== (held?.step ?? null)) return fail(i, `expected to finish step ${held?.step ?? 'none'}, finished ${obs.finished}`);
      if (!held) continue;
      const r = records.get(held.id);
      const owned = r !== undefined && r.token === held.step && r.status === 'in_progress';
      const outcome = endingOutcome(held.end, values);
      const problem = expectOutcome(obs.result, { replayed: false, stored: owned && storable(held.end), fence: held.fence, reclaimed: held.reclaimed, ...outcome });
      if (problem) return fail(i, `the held call of step ${held.step}: ${problem}`);
      if (owned) {
        if (storable(held.end)) Object.assign(r, { status: 'completed', leaseEnd: null, expiresAt: now + RETENTION, outcome });
        else records.delete(held.id);
      }
      continue;
    }

    const { call } = step;
    const id = rawId(call);
    const existing = records.get(id);
    // Every answer of the step (one, or one per copy of a race) must pass `check`.
    const results = obs.raced ?? [obs.result];
    const all = (check: (r: Result | undefined) => string | null) => results.map(check).find(Boolean) ?? (obs.executions === 0 ? null : 'the work ran');
    if (existing && !isExpired(existing, now) && !sameInput(existing.input, call.input)) {
      const problem = all((r) => expectCode(r, 'IDEMPOTENCY_KEY_REUSED'));
      if (problem) return fail(i, `same raw triple as step ${existing.token} with another input: ${problem}`);
      continue;
    }
    if (existing && !isReclaimable(existing, now)) {
      if (existing.status === 'completed') {
        const want = { replayed: true, stored: true, fence: existing.fence, reclaimed: false, ...(existing.outcome as { ok: boolean; value: unknown }) };
        const problem = all((r) => expectOutcome(r, want));
        if (problem) return fail(i, `a replay of step ${existing.token}: ${problem}`);
      } else {
        const problem = all((r) => expectCode(r, 'IDEMPOTENCY_KEY_IN_USE'));
        if (problem) return fail(i, `step ${existing.token} still holds this triple: ${problem}`);
      }
      continue;
    }

    // Fresh, expired, released or abandoned: the work runs once.
    const fence = existing ? existing.fence + 1 : 1;
    const reclaimed = existing !== undefined;
    const why = existing ? `reclaims the record of step ${existing.token}` : 'a triple without a live record';
    if (obs.executions !== 1) return fail(i, `${why} must execute once, ran ${obs.executions} times; got ${abbreviate(JSON.stringify(results.map(describeResult)))}`);
    const record: IdealRecord = { status: 'in_progress', input: call.input, token: i, fence, leaseEnd: now + LEASE, expiresAt: now + Math.max(RETENTION, LEASE) };
    records.set(id, record);
    const { behaviour } = call;
    if (behaviour.kind === 'nested') {
      const code = sameInput(at(inputs, behaviour.input), call.input) ? 'IDEMPOTENCY_KEY_IN_USE' : 'IDEMPOTENCY_KEY_REUSED';
      const problem = expectCode(obs.nested, code) ?? (obs.nestedExecutions === 0 ? null : 'the nested duplicate ran');
      if (problem) return fail(i, `nested duplicate: ${problem}`);
    }
    if (behaviour.kind === 'hold') {
      if (!obs.held) return fail(i, 'expected the work to be held');
      pending.push({ step: i, id, fence, reclaimed, end: behaviour.end });
      continue;
    }
    let answer = obs.result;
    if (behaviour.kind === 'race') {
      // One copy ran; every other copy was told the key is in use.
      const ran = results.filter((r) => r?.type === 'outcome' && !r.replayed);
      const others = results.filter((r) => !ran.includes(r));
      const problem = others.map((r) => expectCode(r, 'IDEMPOTENCY_KEY_IN_USE')).find(Boolean) ?? (ran.length === 1 ? null : `${ran.length} copies ran`);
      if (problem) return fail(i, `race of ${behaviour.copies} copies: ${problem}`);
      answer = ran[0];
    }
    const outcome = endingOutcome(behaviour.end, values);
    const problem = expectOutcome(answer, { replayed: false, stored: storable(behaviour.end), fence, reclaimed, ...outcome });
    if (problem) return fail(i, `${why}: ${problem}`);
    if (storable(behaviour.end)) Object.assign(record, { status: 'completed', leaseEnd: null, expiresAt: now + RETENTION, outcome });
    else records.delete(id);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Readable counterexamples

function abbreviate(text: string, max = 600): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** JSON string literal with everything outside printable ASCII escaped (U+FFFD, NUL, é vs e + U+0301). */
function quote(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A name, shortened when long, with how it relates to the other names of its pool. */
function renderName(value: Tenant, pool: readonly Tenant[]): string {
  if (value === GLOBAL_TENANT) return 'GLOBAL_TENANT';
  const text = value.length > 48 ? `${quote(value.slice(0, 24))}…${quote(value.slice(-8))} (${value.length} chars)` : quote(value);
  const notes: string[] = [];
  for (const [j, other] of pool.entries()) {
    if (other === GLOBAL_TENANT || other === value) continue;
    if (legacyScopePart(other) === value && other !== value) notes.push(`= old stored form of #${j}`);
    if (encodeScopePart(other) === value && other !== value) notes.push(`= encodeScopePart(#${j})`);
  }
  return notes.length ? `${text} [${notes.join(', ')}]` : text;
}

function renderCall(call: Call, universe: Universe): string {
  const tenant = `#${universe.tenants.indexOf(call.tenant)} ${renderName(call.tenant, universe.tenants)}`;
  const operation = `#${universe.operations.indexOf(call.operation)} ${renderName(call.operation, universe.operations)}`;
  const key = call.key.length > 48 ? `${quote(call.key.slice(0, 24))}… (${call.key.length} chars)` : quote(call.key);
  const input = `input#${universe.inputs.findIndex((v) => Object.is(v, call.input))}`;
  const b = call.behaviour;
  const end = (e: Ending) => (e.kind === 'value' ? `returns value#${e.value % universe.values.length}` : e.kind === 'refuse' ? `throws ${e.status}${e.asObject ? ' (plain object)' : ''} with value#${e.value % universe.values.length}` : `crashes${e.status ? ` (${e.status})` : ''}`);
  const how =
    b.kind === 'plain'
      ? end(b.end)
      : b.kind === 'nested'
        ? `calls again with input#${b.input % universe.inputs.length}, then ${end(b.end)}`
        : b.kind === 'race'
          ? `x${b.copies} at once, the one that runs ${end(b.end)}`
          : `holds, then ${end(b.end)}`;
  return `call(tenant ${tenant}, operation ${operation}, key ${key}, ${input}) ${how}`;
}

export function renderStep(script: Script, i: number): string {
  const step = script.steps[i];
  if (!step) return '?';
  if (step.kind === 'call') return renderCall(step.call, script.universe);
  if (step.kind === 'advance') return `advance ${step.ms} ms`;
  return step.kind;
}

export function renderScript(script: Script): string {
  const u = script.universe;
  const lines = [
    `tenants:    ${u.tenants.map((t, j) => `#${j} ${renderName(t, u.tenants)}`).join(' | ')}`,
    `operations: ${u.operations.map((t, j) => `#${j} ${renderName(t, u.operations)}`).join(' | ')}`,
    `inputs:     ${u.inputs.map((v, j) => `#${j} ${abbreviate(fc.stringify(v), 200)}`).join(' | ')}`,
    `values:     ${u.values.map((v, j) => `#${j} ${abbreviate(fc.stringify(v), 200)}`).join(' | ')}`,
    ...script.steps.map((_, i) => `  ${i}: ${renderStep(script, i)}`),
  ];
  return lines.join('\n');
}
