-- longhaul kind `workflow`: a DAG of text, template and llm nodes. Billable unit: one llm node (text and template
-- nodes are free). Full validation (unique ids, inputs exist, no cycles, placeholders) runs in the kind's TypeScript
-- module before a job is planned; this function checks only what pricing needs, so a bad insert fails early.

create function longhaul.units_workflow(p_input jsonb)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_nodes jsonb := p_input -> 'nodes';
  v_count integer;
begin
  if v_nodes is null or jsonb_typeof(v_nodes) <> 'array' then
    raise exception using errcode = 'LH400', message = 'input.nodes: must be an array of nodes';
  end if;
  v_count := jsonb_array_length(v_nodes);
  -- Same cap as the kind's validator: beyond it a single job would dominate a worker for hours.
  if v_count < 1 or v_count > 200000 then
    raise exception using errcode = 'LH400', message = format('input.nodes: must hold 1 to 200000 nodes, got %s', v_count);
  end if;
  return (select count(*) from jsonb_array_elements(v_nodes) n where n ->> 'type' = 'llm');
end
$$;
comment on function longhaul.units_workflow is 'Billable units of a workflow input: its llm nodes.';
revoke all on function longhaul.units_workflow(jsonb) from public, anon, authenticated;
grant execute on function longhaul.units_workflow(jsonb) to service_role;

insert into public.job_pricing (kind, unit, credits_per_unit, min_credits, description)
values ('workflow', 'llm node', 1, 0, 'Workflow graphs: 1 credit per llm node; text and template nodes are free.');
