#!/usr/bin/env node
/**
 * `longhaul`: the jobs API from a terminal or a script — submit, status, watch (progress bar, rate, ETA), list, cancel,
 * retry, stats, credits. Connects to `npm start` through ${LONGHAUL_HOME:-.longhaul}/local.json, or to any deployment
 * with --url and --token/--key. Node built-ins only. Design, output modes and exit codes: docs/cli.md.
 */
import { parseArgs } from 'node:util';
import { createClient } from './longhaul/client';
import { COMMANDS, GLOBAL_HELP, GLOBAL_OPTIONS, type Command, type CommandContext, type Values } from './longhaul/commands';
import { resolveConnection } from './longhaul/config';
import { ApiError, EXIT, NetworkError, UsageError } from './longhaul/errors';

const EXIT_HELP = [
  '0  success (watch, submit --watch: the job completed)',
  '1  the job failed or was cancelled (watch, submit --watch, retry --watch)',
  '2  usage error: bad arguments, unreadable input, or the API answered 400',
  '3  not found (404)',
  '4  not authorized (401/403)',
  '5  insufficient credits (402)',
  '6  other API error (5xx) or network error',
  '7  conflict (409): cancel of a finished job, retry of a job that did not fail',
];

function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'usage: longhaul <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'options (every command):',
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    '',
    'connection: --url/--token/--key, then LONGHAUL_URL/LONGHAUL_TOKEN/LONGHAUL_KEY, then',
    '  ${LONGHAUL_HOME:-.longhaul}/local.json written by `npm start` (demo user; --admin: the admin key)',
    '',
    'exit codes:',
    ...EXIT_HELP.map((l) => `  ${l}`),
    '',
    'longhaul <command> --help for a command\'s options',
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  return [`usage: ${c.usage}`, '', c.summary, ...(c.optionHelp.length ? ['', ...c.optionHelp.map((l) => `  ${l}`)] : []), '', 'options:', ...GLOBAL_HELP.map((l) => `  ${l}`), '', `exit codes: see longhaul --help (${name})`].join('\n');
}

/** Where the CLI reads and writes; process streams in production, captured ones in tests. */
export type CliIo = CommandContext['io'];

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, cwd: string, io: CliIo): Promise<number> {
  // First pass: find the command name without rejecting options that belong to it.
  const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...Object.values(COMMANDS).map((c) => c.options)) as typeof GLOBAL_OPTIONS;
  const loose = parseArgs({ args: argv, options: allOptions, strict: false, allowPositionals: true });
  const name = loose.positionals[0];
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? loose.positionals[1] : undefined;
    const c = topic ? COMMANDS[topic] : undefined;
    io.out.write(`${c && topic ? commandHelp(topic, c) : globalHelp()}\n`);
    return name === 'help' || loose.values.help ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err.write(`longhaul: unknown command "${name}"\n${globalHelp()}\n`);
    return EXIT.usage;
  }

  let values: Values = {};
  try {
    const parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
    values = parsed.values as Values;
    if (values.help) {
      io.out.write(`${commandHelp(name, command)}\n`);
      return EXIT.ok;
    }
    const positionals = parsed.positionals.slice(1);
    const [min, max] = command.positionals;
    if (positionals.length < min || positionals.length > max) throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${positionals.length}`);
    const conn = resolveConnection({ url: values.url as string | undefined, key: values.key as string | undefined, token: values.token as string | undefined, admin: values.admin === true }, env, cwd, command.admin === true);
    return await command.run({ values, positionals, client: createClient(conn), io });
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`longhaul ${name}: ${(err as Error).message}\nusage: ${command.usage}\n(longhaul ${name} --help for more)\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      if (values.json) io.out.write(`${JSON.stringify(err.body)}\n`);
      io.err.write(`longhaul ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof NetworkError) {
      io.err.write(`longhaul ${name}: ${err.message}\n`);
      return EXIT.api;
    }
    throw err;
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

if (require.main === module) {
  // Ctrl-C while watching: end the redrawn line so the shell prompt starts clean; the job itself keeps running.
  process.on('SIGINT', () => {
    if (process.stdout.isTTY) process.stdout.write('\n');
    process.exit(EXIT.interrupted);
  });
  main(process.argv.slice(2), process.env, process.cwd(), {
    out: process.stdout,
    err: process.stderr,
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    readStdin,
    stdinIsTTY: process.stdin.isTTY === true,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`longhaul: unexpected error: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = EXIT.api;
    },
  );
}
