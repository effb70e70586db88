/**
 * Entry for workerd (run by Miniflare as a module Worker): a request runs the specs bundled before
 * it, once per isolate, and answers the SpecReport as JSON.
 */
import { runSpecs, runtimeInfo, type SpecReport } from '../harness.js';

let report: Promise<SpecReport> | undefined;

export default {
  async fetch(): Promise<Response> {
    report ??= runSpecs().then((results) => ({ ...runtimeInfo(), results }));
    return Response.json(await report);
  },
};
