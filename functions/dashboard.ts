import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { authenticate, requireAdmin } from '../shared/api/auth';
import { credentialsOf, withErrors } from '../shared/api/http';
import { dashboardPage } from '../shared/dashboard/page';
import { config } from '../shared/services';

/** GET /api/dashboard?code=<admin key> — the operator dashboard (HTML; its script calls the API with the same key). */
export async function dashboard(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  requireAdmin(await authenticate(credentialsOf(request), config()));
  return dashboardPage();
}

app.http('dashboard', { route: 'dashboard', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(dashboard) });
