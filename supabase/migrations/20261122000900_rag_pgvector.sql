-- longhaul: pgvector for rag_ingestion where the extension exists (every Supabase project; not the embedded Postgres).
-- The float8[] column stays the source of truth; a generated `vector` column mirrors it, HNSW indexes (cosine) cover
-- the common embedding sizes, and public.rag_search is replaced by a version that orders by pgvector's `<=>` so the
-- index answers. Callers see the same function either way. Without the extension this migration changes nothing.

do $migration$
declare
  v_schema text;
  v_dims integer;
begin
  if not exists (select 1 from pg_available_extensions where name = 'vector') then
    raise notice 'pgvector is not available: rag_ingestion keeps the portable float8[] search';
    return;
  end if;
  -- Supabase keeps extensions in schema "extensions"; elsewhere the default schema is used.
  if exists (select 1 from pg_namespace where nspname = 'extensions') then
    create extension if not exists vector with schema extensions;
  else
    create extension if not exists vector;
  end if;
  select n.nspname into v_schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector';

  execute format('alter table longhaul.rag_chunks add column embedding_vector %I.vector generated always as (embedding::%I.vector) stored', v_schema, v_schema);
  -- HNSW needs a fixed dimension: one partial index per common size (offline 256; MiniLM 384; Gemini 768; Cohere
  -- 1024; OpenAI 1536). Larger embeddings (3072) exceed HNSW's 2,000 dimensions and are searched exactly.
  foreach v_dims in array array[256, 384, 768, 1024, 1536] loop
    execute format(
      'create index rag_chunks_hnsw_%s on longhaul.rag_chunks using hnsw ((embedding_vector::%I.vector(%s)) %I.vector_cosine_ops) where %I.vector_dims(embedding_vector) = %s',
      v_dims, v_schema, v_dims, v_schema, v_schema, v_dims);
  end loop;

  execute format($fn$
    create or replace function public.rag_search(query_embedding double precision[], match_count integer default 5, document text default null)
    returns table (document_id text, chunk_seq integer, segment_seq integer, text text, start_ms bigint, end_ms bigint, score double precision)
    language plpgsql
    stable
    -- security definer: chunks live in the private schema; auth.uid() limits the search to the caller's documents.
    security definer
    set search_path = ''
    as $body$
    declare
      v_dims integer := array_length(query_embedding, 1);
    begin
      -- The dimension is spelled out so the planner can use the matching HNSW index.
      return query execute format(
        'select c.document_id, c.seq, c.segment_seq, c.text, c.start_ms, c.end_ms,
                1 - (c.embedding_vector::%%1$I.vector(%%2$s) operator(%%1$I.<=>) $1::%%1$I.vector(%%2$s)) as score
         from public.rag_documents d
         join longhaul.rag_chunks c on c.job_id = d.current_job_id
         where d.user_id = $2 and ($3::text is null or d.document_id = $3) and %%1$I.vector_dims(c.embedding_vector) = %%2$s
         order by c.embedding_vector::%%1$I.vector(%%2$s) operator(%%1$I.<=>) $1::%%1$I.vector(%%2$s), c.seq
         limit $4', %L, v_dims)
      using query_embedding, (select auth.uid()), document, least(greatest(match_count, 1), 100);
    end
    $body$
  $fn$, v_schema);
end
$migration$;
