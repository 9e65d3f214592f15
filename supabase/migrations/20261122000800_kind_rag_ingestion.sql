-- longhaul kind `rag_ingestion`: transcripts chunked, embedded and searchable. Billable unit: 100 segments (twice
-- that with `analyze`). A document's chunks are written under the ingesting job and become the document's current
-- version in one transaction when the job finishes, so readers never see half of a re-ingestion.
--
-- Vectors: this migration stores them as float8[] with an exact cosine search in SQL — portable to any Postgres,
-- including the embedded one used locally. Projects with pgvector get vector columns and an HNSW index from the
-- following migration, behind the same functions.

create function longhaul.units_rag_ingestion(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_segments jsonb := p_input -> 'segments';
begin
  if v_segments is null or jsonb_typeof(v_segments) <> 'array' or jsonb_array_length(v_segments) < 1 then
    raise exception using errcode = 'LH400', message = 'input.segments: must be a non-empty array of segments';
  end if;
  return ceil(jsonb_array_length(v_segments) / 100.0)::bigint * case when (p_input ->> 'analyze')::boolean then 2 else 1 end;
end
$$;
comment on function longhaul.units_rag_ingestion is 'Billable units of a transcript: one per 100 segments, doubled when analysis is asked for.';
revoke all on function longhaul.units_rag_ingestion(jsonb) from public, anon, authenticated;
grant execute on function longhaul.units_rag_ingestion(jsonb) to service_role;

insert into public.job_pricing (kind, unit, credits_per_unit, min_credits, description)
values ('rag_ingestion', '100 segments', 1, 0, 'Transcript ingestion: 1 credit per 100 segments embedded (2 with per-segment analysis).');

create table public.rag_documents (
  user_id uuid not null references auth.users (id) on delete cascade,
  document_id text not null check (char_length(document_id) between 1 and 200),
  current_job_id uuid not null,
  chunk_count integer not null,
  embedding_model text not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, document_id)
);
comment on table public.rag_documents is 'The searchable version of each ingested document: the job whose chunks are current.';
alter table public.rag_documents enable row level security;
revoke all on public.rag_documents from anon, authenticated;
grant select on public.rag_documents to authenticated;
create policy "users read their own documents" on public.rag_documents for select to authenticated using (user_id = (select auth.uid()));

create table longhaul.rag_chunks (
  job_id uuid not null references public.jobs (id) on delete cascade,
  seq integer not null,
  user_id uuid not null,
  document_id text not null,
  segment_seq integer not null,
  part integer not null,
  text text not null,
  start_ms bigint,
  end_ms bigint,
  embedding double precision[],
  analysis jsonb,
  primary key (job_id, seq)
);
comment on table longhaul.rag_chunks is 'Chunks of ingested transcripts (≤ RAG_EMBEDDING_CHAR_LIMIT characters, on sentence boundaries) with their segment, time range, embedding and optional analysis.';
create index rag_chunks_document on longhaul.rag_chunks (user_id, document_id);
grant all on longhaul.rag_chunks to service_role;

create function longhaul.rag_cosine(a double precision[], b double precision[])
returns double precision
language sql
immutable
parallel safe
set search_path = ''
as $$
  select sum(x * y) / nullif(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0)
  from unnest(a, b) as t(x, y)
$$;
comment on function longhaul.rag_cosine is 'Cosine similarity of two float arrays (the portable path; pgvector uses <=>).';

create function longhaul.rag_publish(p_job uuid, p_model text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_user uuid;
  v_document text;
  v_count integer;
begin
  select user_id, document_id, count(*) into v_user, v_document, v_count from longhaul.rag_chunks where job_id = p_job group by 1, 2;
  if v_user is null then
    return 0;
  end if;
  -- One transaction: the new version becomes current and the old one disappears together.
  insert into public.rag_documents (user_id, document_id, current_job_id, chunk_count, embedding_model)
  values (v_user, v_document, p_job, v_count, p_model)
  on conflict (user_id, document_id) do update set current_job_id = excluded.current_job_id, chunk_count = excluded.chunk_count,
    embedding_model = excluded.embedding_model, updated_at = now();
  delete from longhaul.rag_chunks where user_id = v_user and document_id = v_document and job_id <> p_job;
  return v_count;
end
$$;
comment on function longhaul.rag_publish is 'Makes a finished ingestion the current version of its document and drops the previous one, atomically.';

create function public.rag_search(query_embedding double precision[], match_count integer default 5, document text default null)
returns table (document_id text, chunk_seq integer, segment_seq integer, text text, start_ms bigint, end_ms bigint, score double precision)
language sql
stable
-- security definer: chunks live in the private schema; the caller's user id (auth.uid()) limits the search to
-- their own current documents.
security definer
set search_path = ''
as $$
  select c.document_id, c.seq, c.segment_seq, c.text, c.start_ms, c.end_ms, longhaul.rag_cosine(c.embedding, query_embedding) as score
  from public.rag_documents d
  join longhaul.rag_chunks c on c.job_id = d.current_job_id
  where d.user_id = (select auth.uid()) and (document is null or d.document_id = document) and c.embedding is not null
  order by score desc nulls last, c.seq
  limit least(greatest(match_count, 1), 100)
$$;
comment on function public.rag_search is 'Top matches among the caller''s current documents by cosine similarity to a query embedding.';
revoke all on function public.rag_search(double precision[], integer, text) from public, anon;
grant execute on function public.rag_search(double precision[], integer, text) to authenticated, service_role;
revoke all on function longhaul.rag_publish(uuid, text), longhaul.rag_cosine(double precision[], double precision[]) from public, anon, authenticated;
grant execute on function longhaul.rag_publish(uuid, text), longhaul.rag_cosine(double precision[], double precision[]) to service_role;
