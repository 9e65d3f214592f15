import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate, requireUser } from '../shared/api/auth';
import { credentialsOf, json, withErrors } from '../shared/api/http';
import { credits as readCredits } from '../shared/jobs/jobStore';
import { config, db } from '../shared/services';

/** GET /api/credits — the caller's balance and latest ledger entries. */
export async function credits(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = requireUser(await authenticate(credentialsOf(request), config()));
  return json(200, await readCredits(db(), actor));
}

app.http('credits', { route: 'credits', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(credits) });
