-- longhaul kind `brief_pipeline`: a creative brief through analysis, asset preparation, a media step and rendering.
-- Billable unit: one step (video and image: 4 steps, audio and text: 3). Files a step produces (images) are kept in
-- longhaul.job_files and served to the job's owner by GET /api/jobs/{id}/files/{name}.

create function longhaul.units_brief_pipeline(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
begin
  case p_input ->> 'mediaType'
    when 'video', 'image' then return 4;
    when 'audio', 'text' then return 3;
    else
      raise exception using errcode = 'LH400', message = 'input.mediaType: must be one of video, image, audio, text';
  end case;
end
$$;
comment on function longhaul.units_brief_pipeline is 'Billable units of a brief: its steps (4 for video and image, 3 for audio and text).';
revoke all on function longhaul.units_brief_pipeline(jsonb) from public, anon, authenticated;
grant execute on function longhaul.units_brief_pipeline(jsonb) to service_role;

insert into public.job_pricing (kind, unit, credits_per_unit, min_credits, description)
values ('brief_pipeline', 'step', 1, 0, 'Creative briefs: 1 credit per pipeline step (analysis, asset prep, media step, render).');

create table longhaul.job_files (
  job_id uuid not null references public.jobs (id) on delete cascade,
  name text not null check (name ~ '^[a-z0-9][a-z0-9._-]{0,120}$'),
  content_type text not null,
  data bytea not null,
  created_at timestamptz not null default now(),
  primary key (job_id, name)
);
comment on table longhaul.job_files is 'Small files a job produced (brief images), written idempotently by (job, name); removed with the job.';
revoke all on longhaul.job_files from public, anon, authenticated;
grant all on longhaul.job_files to service_role;
