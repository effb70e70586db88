import { Idempotency } from '../core/engine.js';
import { ReleaseRefusedError } from '../core/inspect.js';
import type { CommandIo } from './io.js';
import { recordLines } from './record-text.js';
import type { ScopeArgs } from './scope-args.js';
import type { Target } from './target.js';
import { CommandExit, EXIT } from './usage.js';

export interface ReleaseCommand extends ScopeArgs {
  /** The revision inspect showed; default the one read now (then the fence covers only this run). */
  revision: string | undefined;
  yes: boolean;
  json: boolean;
}

/**
 * oncely release: frees a stuck in-progress claim of one key through the engine's fenced release.
 * Asks before releasing unless --yes (the caller makes sure there is a terminal to ask on).
 */
export async function releaseCommand(target: Target, command: ReleaseCommand, io: CommandIo): Promise<number> {
  const engine = new Idempotency({ store: target.store });
  const { tenant, operation, key } = command;
  const record = await engine.inspect(tenant, operation, key);
  if (!record) throw new CommandExit(EXIT.notFound, `no record for this key in ${target.where}: nothing to release`);
  const revision = command.revision ?? record.revision;
  // Only a claim that can be released is worth a question; the engine words every refusal.
  if (!command.yes && record.status === 'in_progress' && record.revision === revision) {
    for (const line of recordLines(record)) io.err(line);
    const answer = await io.ask(`Release this claim (fence ${record.fence}) so that the next call runs the work again? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CommandExit(EXIT.refused, 'not released (not confirmed)');
  }
  try {
    const released = await engine.release(tenant, operation, key, { revision });
    if (command.json) io.out(JSON.stringify({ released: true, scope: released.scope, fence: released.fence, revision: released.revision }));
    else io.out(`released: the claim of fence ${released.fence} (revision ${released.revision}) is gone; the next call with this key runs the work`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ReleaseRefusedError)) throw error;
    if (command.json) io.out(JSON.stringify({ released: false, reason: error.reason }));
    throw new CommandExit(error.reason === 'not_found' ? EXIT.notFound : EXIT.refused, error.message.replace(/^oncely: /, 'refused: '));
  }
}
