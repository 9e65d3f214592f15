/**
 * fast-check generators for the fuzz suite: hostile strings, job inputs of every kind (mostly broken, sometimes
 * valid), and the HTTP cases the API fuzz test sends. Shared by the unit-level schema fuzz and the HTTP fuzz.
 */
import fc from 'fast-check';

/** The seed every fuzz test uses; printed in the output, overridden with FUZZ_SEED to replay a failure. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261202);

/** Strings that have broken parsers, SQL and Postgres jsonb before. */
export const NASTY_STRINGS = [
  "'",
  "' or '1'='1",
  "'; drop table public.jobs; --",
  '" or ""="',
  "1) or (1=1",
  'pending\' union select * from public.credit_ledger --',
  '%',
  '_',
  '\\',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '😀',
  '../../etc/passwd',
  '%2e%2e%2f',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e400',
  '99999999999999999999',
  'null',
  'true',
  '[]',
  '{}',
  ' ',
  '',
  'x'.repeat(5000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '2026-13-45T99:99:99Z',
  'infinity',
  '-infinity',
  'epoch',
];

/** Any string: plain, full unicode (lone surrogates included), or one of the nasty ones. */
export const nastyString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  );

/** Numbers at the edges: huge, negative, fractional, beyond int4/int8. */
export const edgeNumber = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -(2 ** 31) - 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );

/** Any JSON value, with nasty strings and edge numbers among the leaves. */
export const junkJson = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 2, arbitrary: nastyString() },
    { weight: 2, arbitrary: edgeNumber() },
    { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, { __proto__: { admin: true } }, JSON.parse('{"__proto__": {"polluted": 1}}') as unknown) },
    { weight: 1, arbitrary: fc.dictionary(nastyString(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }) },
  );

/** A field that is usually a good value and sometimes anything at all (a mutation of a valid input). */
export function maybe<T>(good: fc.Arbitrary<T>, goodWeight = 12): fc.Arbitrary<T | unknown> {
  return fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: 1, arbitrary: junkJson() });
}

/** An object whose keys are sometimes dropped and sometimes joined by an unknown key. */
function mutatedRecord(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.option(fc.tuple(nastyString(), junkJson()), { freq: 12 }))
    .map(([obj, extra]) => (extra ? { ...obj, [extra[0]]: extra[1] } : obj));
}

const nodeIdArb = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('a', 'b', 'c', 'd', 'e') }, { weight: 1, arbitrary: nastyString() });

const workflowNode = fc.oneof(
  mutatedRecord({ id: maybe(nodeIdArb), type: maybe(fc.constant('text')), text: maybe(fc.string({ maxLength: 40 })) }),
  mutatedRecord({ id: maybe(nodeIdArb), type: maybe(fc.constant('template')), template: maybe(fc.constantFrom('hi {{a}}', 'x', '{{b}} and {{c}}', '{{ a }}', '{{}}')), inputs: maybe(fc.array(nodeIdArb, { maxLength: 3 })) }),
  mutatedRecord({
    id: maybe(nodeIdArb),
    type: maybe(fc.constantFrom('llm', 'LLM', 'shell')),
    prompt: maybe(fc.oneof(fc.string({ maxLength: 40 }), fc.constant('summarise {{a}}'))),
    inputs: maybe(fc.array(nodeIdArb, { maxLength: 3 })),
    model: maybe(fc.string({ maxLength: 20 })),
    temperature: maybe(fc.double({ min: -1, max: 3, noNaN: true })),
  }),
);

/** Inputs per kind: mutations of the kind's valid shape (a few are valid, most are not in some field). */
export const kindInputs: Record<string, fc.Arbitrary<unknown>> = {
  workflow: mutatedRecord({ nodes: maybe(fc.array(workflowNode, { minLength: 0, maxLength: 6 }), 8) }),
  rag_ingestion: mutatedRecord({
    documentId: maybe(fc.string({ minLength: 1, maxLength: 30 })),
    segments: maybe(
      fc.array(
        mutatedRecord({
          seq: maybe(fc.nat(1000)),
          text: maybe(fc.string({ minLength: 1, maxLength: 80 })),
          startMs: maybe(fc.nat(10_000_000)),
          endMs: maybe(fc.nat(10_000_000)),
        }),
        { maxLength: 5 },
      ),
      8,
    ),
    analyze: maybe(fc.boolean()),
  }),
  recording_analysis: mutatedRecord({
    url: maybe(
      fc.constantFrom(
        'https://media.example.invalid/talk.mp3',
        'http://media.example.invalid/a b.mp3',
        'storage://recordings/alice/talk.m4a',
        'storage://../etc/passwd',
        'file:///etc/passwd',
        'ftp://media.example.invalid/a.mp3',
        'javascript:alert(1)',
        'https://',
        '',
      ),
    ),
    language: maybe(fc.constantFrom('en', 'de', 'EN', 'eng', '')),
    analyze: maybe(fc.boolean()),
  }),
  image_generation: mutatedRecord({
    prompts: maybe(fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), nastyString()), { maxLength: 4 }), 8),
    imagesPerPrompt: maybe(fc.integer({ min: -2, max: 12 })),
    aspectRatio: maybe(fc.constantFrom('1:1', '16:9', '9:16', '4:3', '3:4', '2:1', '')),
  }),
  brief_pipeline: mutatedRecord({
    title: maybe(fc.string({ minLength: 0, maxLength: 40 })),
    description: maybe(fc.string({ maxLength: 40 })),
    query: maybe(fc.string({ minLength: 0, maxLength: 40 })),
    mediaType: maybe(fc.constantFrom('video', 'image', 'audio', 'text', 'pdf', 'VIDEO')),
  }),
};

export const KIND_NAMES = Object.keys(kindInputs);

/**
 * A wide JSON value, described rather than built: fc.sample holds every case at once, and a few hundred megabytes of
 * JS objects would measure the fuzzer, not the system under test. `wideValue` builds it when the case is sent.
 */
export interface WideSpec {
  shape: 'emptyObjects' | 'manyKeys' | 'longString' | 'manyStrings' | 'deep';
  /** Serialised size to aim at, in bytes (the built value's JSON text is within a few bytes of it). */
  bytes: number;
}

/** Wide values up to `maxBytes` of JSON text, half of them in the top eighth of the range (the sizes that cost most). */
export const wideSpec = (maxBytes: number): fc.Arbitrary<WideSpec> =>
  fc.record({
    shape: fc.constantFrom<WideSpec['shape']>('emptyObjects', 'manyKeys', 'longString', 'manyStrings', 'deep'),
    bytes: fc.oneof(fc.integer({ min: 16, max: maxBytes }), fc.integer({ min: Math.floor((maxBytes * 7) / 8), max: maxBytes })),
  });

/** Builds the value a WideSpec describes: many values (the parse cost of jsonb) or few long ones (its size). */
export function wideValue(spec: WideSpec): unknown {
  switch (spec.shape) {
    case 'emptyObjects':
      return Array.from({ length: Math.max(1, Math.floor(spec.bytes / 3)) }, () => ({}));
    case 'manyKeys': {
      const out: Record<string, number> = {};
      for (let i = 0, size = 2; size < spec.bytes; i++) {
        out[`k${i}`] = i % 10;
        size += `"k${i}":0,`.length;
      }
      return out;
    }
    case 'longString':
      // Two-byte UTF-8 characters: the length limit in characters and the one in bytes differ.
      return 'é'.repeat(Math.max(1, Math.floor(spec.bytes / 2)));
    case 'manyStrings':
      return Array.from({ length: Math.max(1, Math.floor(spec.bytes / 4)) }, (_, i) => String.fromCharCode(97 + (i % 26)));
    case 'deep': {
      // Deep, up to what JSON.stringify itself can write (it recurses; Node's stack ends near 10,000 levels).
      let v: unknown = 1;
      for (let i = 0; i < Math.min(Math.floor(spec.bytes / 6), 4_000); i++) v = { a: v };
      return v;
    }
  }
}
