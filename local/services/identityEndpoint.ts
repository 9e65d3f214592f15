/**
 * A stand-in for the managed identity endpoint Azure gives every Function App (App Service protocol 2019-08-01: the
 * platform sets IDENTITY_ENDPOINT and IDENTITY_HEADER; @azure/identity's ManagedIdentityCredential asks it for a token).
 * It issues tokens shaped like Entra ID's (issuer, audience, oid, tid, lifetime) that Azurite's `--oauth basic` accepts,
 * so identity-based storage runs on this machine through the same SDK code as on Azure. Only identities it was told
 * about get a token: a user-assigned identity must be named by its client id, as on Azure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export interface IdentityEndpoint {
  /** Environment of a process that should find this endpoint as its platform's. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Client id of the user-assigned identity it serves. */
  clientId: string;
  /** Token requests answered so far, by resource. */
  issued: string[];
  close(): Promise<void>;
}

const TENANT = '72f988bf-0000-4000-8000-000000000001';
const TOKEN_LIFETIME_S = 3_600;

export async function startIdentityEndpoint(opts: { clientId?: string } = {}): Promise<IdentityEndpoint> {
  const clientId = opts.clientId ?? randomUUID();
  const principalId = randomUUID();
  const header = randomBytes(16).toString('hex');
  // Azurite checks a token's claims, not its signature; the key only makes it a well-formed JWS.
  const signingKey = randomBytes(32);
  const issued: string[] = [];

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const fail = (status: number, error: string, description: string): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, error_description: description }));
      };
      if (req.method !== 'GET') return fail(405, 'invalid_request', 'GET only');
      if (req.headers['x-identity-header'] !== header) return fail(401, 'unauthorized', 'X-IDENTITY-HEADER is missing or wrong');
      if (url.searchParams.get('api-version') !== '2019-08-01') return fail(400, 'invalid_request', 'api-version must be 2019-08-01');
      const resource = url.searchParams.get('resource');
      if (!resource) return fail(400, 'invalid_request', 'resource is required');
      // Only a user-assigned identity is attached to the app (infra/): a request must name it.
      const asked = url.searchParams.get('client_id') ?? url.searchParams.get('clientid');
      if (asked !== clientId) return fail(400, 'invalid_request', `no identity with client id ${asked ?? '(none: system-assigned)'} is assigned to this app`);
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ oid: principalId, tid: TENANT, appid: clientId, idtyp: 'app' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(`https://sts.windows.net/${TENANT}/`)
        .setAudience(resource.replace(/\/$/, ''))
        .setSubject(principalId)
        .setIssuedAt(now)
        .setNotBefore(now - 300)
        .setExpirationTime(now + TOKEN_LIFETIME_S)
        .sign(signingKey);
      issued.push(resource);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ access_token: token, expires_on: String(now + TOKEN_LIFETIME_S), resource, token_type: 'Bearer', client_id: clientId }),
      );
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    env: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: header },
    clientId,
    issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
