import { Idempotency } from '../core/engine.js';
import type { CommandIo } from './io.js';
import { recordJson, recordLines } from './record-text.js';
import type { ScopeArgs } from './scope-args.js';
import type { Target } from './target.js';
import { CommandExit, EXIT } from './usage.js';

export interface InspectCommand extends ScopeArgs {
  outcome: boolean;
  json: boolean;
}

/** oncely inspect: prints the record of one key (exit 3 when there is none). */
export async function inspectCommand(target: Target, command: InspectCommand, io: CommandIo): Promise<number> {
  const engine = new Idempotency({ store: target.store });
  const record = await engine.inspect(command.tenant, command.operation, command.key, { includeOutcome: command.outcome });
  if (!record) {
    if (command.json) io.out(JSON.stringify({ found: false }));
    throw new CommandExit(EXIT.notFound, `no record for this key in ${target.where}`);
  }
  if (command.json) io.out(JSON.stringify({ found: true, record: recordJson(record) }));
  else for (const line of recordLines(record)) io.out(line);
  return EXIT.ok;
}
