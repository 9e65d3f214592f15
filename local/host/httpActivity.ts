/**
 * Performs a Durable `callHttp` request inside the host (the built-in HTTP activity). With the asynchronous pattern
 * enabled, a 202 with a Location header is polled here until it completes, so the orchestration only ever sees the
 * final response (durable-protocol.md §4.4).
 */
interface DurableHttpRequest {
  method?: string;
  uri: string;
  content?: string;
  headers?: Record<string, string>;
  asynchronousPatternEnabled?: boolean;
}

export async function performHttpActivity(input: string | null): Promise<unknown> {
  const request = JSON.parse(input ?? 'null') as DurableHttpRequest | null;
  if (!request?.uri) throw new Error('callHttp needs a uri');
  let response = await fetch(request.uri, {
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.content,
  });
  while (request.asynchronousPatternEnabled !== false && response.status === 202 && response.headers.get('location')) {
    const wait = Number(response.headers.get('retry-after') ?? '30') * 1000;
    await new Promise((r) => setTimeout(r, Math.max(100, wait)));
    response = await fetch(new URL(response.headers.get('location')!, request.uri), { headers: request.headers });
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  return { statusCode: response.status, headers, content: await response.text() };
}
