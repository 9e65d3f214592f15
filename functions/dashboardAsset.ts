import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { withErrors } from '../shared/api/http';
import { dashboardAsset as find } from '../shared/dashboard/page';
import { NotFoundError } from '../shared/errors';

/** GET /api/dashboard/assets/{name} — the dashboard's script and stylesheet (code only, no data: no key needed). */
export async function dashboardAsset(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const name = request.params.name ?? '';
  const asset = find(name);
  if (!asset) throw new NotFoundError(`no dashboard asset ${name}`);
  return asset;
}

app.http('dashboardAsset', { route: 'dashboard/assets/{name}', methods: ['GET'], authLevel: 'anonymous', handler: withErrors(dashboardAsset) });
