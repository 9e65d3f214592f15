-- longhaul kind `image_generation`: one billable unit per image (prompts x imagesPerPrompt). Images blocked by the
-- provider are refunded when the job completes (longhaul.complete_job refunds units not produced).

create function longhaul.units_image_generation(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_prompts jsonb := p_input -> 'prompts';
  v_per integer := coalesce((p_input ->> 'imagesPerPrompt')::integer, 1);
begin
  if v_prompts is null or jsonb_typeof(v_prompts) <> 'array' or jsonb_array_length(v_prompts) < 1 then
    raise exception using errcode = 'LH400', message = 'input.prompts: must be a non-empty array of prompts';
  end if;
  if v_per < 1 or v_per > 10 then
    raise exception using errcode = 'LH400', message = 'input.imagesPerPrompt: must be 1 to 10';
  end if;
  return jsonb_array_length(v_prompts) * v_per;
end
$$;
comment on function longhaul.units_image_generation is 'Billable units of an image job: prompts x imagesPerPrompt.';
revoke all on function longhaul.units_image_generation(jsonb) from public, anon, authenticated;
grant execute on function longhaul.units_image_generation(jsonb) to service_role;

insert into public.job_pricing (kind, unit, credits_per_unit, min_credits, description)
values ('image_generation', 'image', 1, 0, 'Image generation: 1 credit per image; images the provider refuses are refunded.');
