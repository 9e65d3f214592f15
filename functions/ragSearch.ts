import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { authenticate } from '../shared/api/auth';
import { credentialsOf, json, readBody, withErrors } from '../shared/api/http';
import { asUser } from '../shared/db';
import { ValidationError } from '../shared/errors';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../shared/pgText';
import { aiServices, config, db } from '../shared/services';

const bodySchema = z.object({
  query: z.string().min(1).max(8000),
  k: z.number().int().min(1).max(100).default(5),
  documentId: z.string().min(1).max(200).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE).optional(),
  /** Admin only: whose documents to search. */
  userId: z.string().uuid().optional(),
});

/** POST /api/rag/search — embeds the query with the ingestion's embedding model and returns the caller's top k chunks. */
export async function ragSearch(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const actor = await authenticate(credentialsOf(request), config());
  const body = await readBody(request, bodySchema);
  const userId = actor.type === 'user' ? actor.userId : body.userId;
  if (!userId) throw new ValidationError('userId: an admin search must name the user whose documents to search', [{ path: 'userId', message: 'required with the admin key' }]);
  const { vectors } = await aiServices().embeddings.embed({ texts: [body.query] });
  const rows = await asUser(db(), { sub: userId }, async (client) =>
    (
      await client.query<{ document_id: string; chunk_seq: number; segment_seq: number; text: string; start_ms: string | null; end_ms: string | null; score: number }>(
        'select * from public.rag_search($1::double precision[], $2, $3)',
        [`{${vectors[0]!.join(',')}}`, body.k, body.documentId ?? null],
      )
    ).rows,
  );
  return json(200, {
    matches: rows.map((r) => ({
      documentId: r.document_id,
      chunkId: r.chunk_seq,
      segmentSeq: r.segment_seq,
      text: r.text,
      startMs: r.start_ms === null ? null : Number(r.start_ms),
      endMs: r.end_ms === null ? null : Number(r.end_ms),
      score: r.score,
    })),
  });
}

app.http('ragSearch', { route: 'rag/search', methods: ['POST'], authLevel: 'anonymous', handler: withErrors(ragSearch) });
