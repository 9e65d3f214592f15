/**
 * The pgvector path of rag_ingestion on PGlite (Postgres in WebAssembly, which ships pgvector; the embedded Postgres
 * does not): the same migrations apply, the vector column and HNSW indexes appear, and public.rag_search answers
 * through the index with the same contract as the portable path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { localSql, readMigrations } from '../../local/supabase/migrate';
import { hashEmbedding } from '../../shared/ai/localProvider';

describe('rag_ingestion on pgvector (PGlite)', () => {
  let db: PGlite;
  let user: string;
  before(async () => {
    db = await PGlite.create({ extensions: { vector } });
    await db.exec(localSql.before());
    for (const m of readMigrations()) await db.exec(m.sql);
    user = (await db.query<{ id: string }>("insert into auth.users (email) values ('v@x') returning id")).rows[0]!.id;
    await db.query('select longhaul.grant_credits($1, 100)', [user]);
  });
  after(async () => {
    await db?.close();
  });

  async function ingest(documentId: string, texts: string[]): Promise<string> {
    const input = JSON.stringify({ documentId, segments: texts.map((text, seq) => ({ seq, text })) });
    const job = (await db.query<{ id: string }>("insert into public.jobs (kind, input, user_id) values ('rag_ingestion', $1::jsonb, $2) returning id", [input, user])).rows[0]!.id;
    for (const [seq, text] of texts.entries()) {
      await db.query('insert into longhaul.rag_chunks (job_id, seq, user_id, document_id, segment_seq, part, text, embedding) values ($1, $2, $3, $4, $2, 0, $5, $6::double precision[])', [
        job,
        seq,
        user,
        documentId,
        text,
        `{${hashEmbedding(text).join(',')}}`,
      ]);
    }
    await db.query("select longhaul.rag_publish($1, 'local')", [job]);
    return job;
  }

  async function search(query: string, k: number): Promise<{ text: string; score: number }[]> {
    await db.query("select set_config('request.jwt.claims', $1, false)", [JSON.stringify({ sub: user, role: 'authenticated' })]);
    const { rows } = await db.query<{ text: string; score: number }>('select text, score from public.rag_search($1::double precision[], $2, null)', [`{${hashEmbedding(query).join(',')}}`, k]);
    return rows;
  }

  it('adds a vector column mirroring the embeddings and HNSW indexes per common dimension', async () => {
    const columns = await db.query<{ data_type: string }>("select udt_name as data_type from information_schema.columns where table_schema = 'longhaul' and table_name = 'rag_chunks' and column_name = 'embedding_vector'");
    assert.equal(columns.rows[0]?.data_type, 'vector');
    const indexes = await db.query<{ indexname: string }>("select indexname from pg_indexes where tablename = 'rag_chunks' and indexname like 'rag_chunks_hnsw_%' order by indexname");
    assert.deepEqual(indexes.rows.map((r) => r.indexname), ['rag_chunks_hnsw_1024', 'rag_chunks_hnsw_1536', 'rag_chunks_hnsw_256', 'rag_chunks_hnsw_384', 'rag_chunks_hnsw_768']);
  });

  it('searches by cosine similarity through the same function, best match first', async () => {
    await ingest('doc', ['the copper engine hums', 'a walrus choir sings at dawn', 'winter markets by the river']);
    const matches = await search('walrus choir', 3);
    assert.equal(matches[0]?.text, 'a walrus choir sings at dawn');
    assert.ok(matches[0]!.score > matches[1]!.score);
    assert.ok(matches[0]!.score <= 1 && matches[0]!.score > 0.3);
  });

  it('answers from the HNSW index for a supported dimension', async () => {
    await db.exec('set enable_seqscan = off');
    const probe = `{${hashEmbedding('walrus').join(',')}}`;
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `explain select seq from longhaul.rag_chunks where vector_dims(embedding_vector) = 256 order by embedding_vector::vector(256) <=> '${probe}'::double precision[]::vector(256) limit 3`,
    );
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /rag_chunks_hnsw_256/);
  });

  it('keeps re-ingestion atomic: the new version replaces the old one', async () => {
    await ingest('doc', ['an orange glacier festival']);
    const matches = await search('walrus choir', 5);
    assert.deepEqual(matches.map((m) => m.text), ['an orange glacier festival']);
  });
});
