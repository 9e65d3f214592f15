/** Reading JSON that a model wrote: the answer itself, or the content of a Markdown code fence around it. */
export function parseModelJson(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  return JSON.parse((fenced?.[1] ?? text).trim());
}
