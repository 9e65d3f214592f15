/**
 * User-controlled text on its way to an operator: a log line (shared/log.ts) and a Slack or Discord message
 * (shared/notify.ts, sent over HTTP to a local receiver). The hostile strings must arrive shown, never obeyed: no
 * control bytes, no forged line or field, no mention, no link with its own text.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scopedLogger } from '../../shared/log';
import { createNotifier, type JobNotice } from '../../shared/notify';

const HOSTILE = [
  '\x1b]0;pwned\x07',
  '\x1b[2J\x1b[31m',
  '\u009b31m',
  '\r\nchunk done jobId=00000000 status=completed',
  '\n',
  '<!channel>',
  '<!here|here>',
  '<@U024BE7LH>',
  '@everyone',
  '@here',
  '[click](http://x.test)',
  '<http://x.test|y>',
  '\u202eevil',
].join(' ');

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('log lines carry user text inert', () => {
  it('a newline, CR or ESC in a message or a field neither acts nor forges a line or a field', () => {
    const lines: string[] = [];
    const sink = { log: (s: unknown) => lines.push(String(s)), warn: (s: unknown) => lines.push(String(s)), error: (s: unknown) => lines.push(String(s)) };
    const log = scopedLogger(sink, { functionName: 'runChunk', jobId: 'j-1' }).child({ attempt: 1 });
    log.warn('chunk failed, will be retried', { model: `gpt\nchunk done jobId=other`, error: HOSTILE, stage: 0 });
    log.error(`unexpected: ${HOSTILE}`);
    assert.equal(lines.length, 2);
    for (const line of lines) assert.doesNotMatch(line, CONTROL, JSON.stringify(line));
    const [first] = lines;
    assert.ok(first!.startsWith('chunk failed, will be retried functionName=runChunk jobId=j-1 attempt=1 '), first);
    // Quoted: the forged `jobId=other` stays inside model's value instead of becoming a field of its own.
    assert.match(first!, / model="gpt\\nchunk done jobId=other" /);
    assert.equal(first!.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/ jobId=/g)?.length, 1, 'one jobId field outside quoted values');
    assert.match(first!, / stage=0$/);
  });
});

describe('notifications carry user text inert for Slack and Discord', () => {
  let server: Server;
  let url: string;
  const bodies: Record<string, unknown>[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('no mention, no control byte, no disguised link; Discord is told to ping no one', async () => {
    const notifier = createNotifier({ url, timeoutMs: 5000 })!;
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };
    const notice: JobNotice = { reason: 'failed', jobId: 'j-1', attempt: 1, kind: 'workflow', status: 'failed', error: { message: HOSTILE } };
    assert.equal(await notifier.send(notice, silent), true);
    const body = bodies.at(-1)!;
    const slack = body.text as string;
    const discord = body.content as string;
    for (const [chat, text] of [['slack', slack], ['discord', discord]] as const) {
      assert.doesNotMatch(text, CONTROL, `${chat}: ${JSON.stringify(text)}`);
      assert.doesNotMatch(text, /@(everyone|here|channel)/, `${chat}: a mention`);
      assert.ok(text.startsWith('longhaul: workflow job j-1 failed on attempt 1: '), text);
      // The forged line is shown as text on the one line (Discord also escapes the backslash, so it renders once).
      assert.match(text, chat === 'slack' ? / \\nchunk done/ : / \\\\nchunk done/);
    }
    // Slack: every special form starts with `<`, and `&`, `<`, `>` are escaped.
    assert.doesNotMatch(slack, /[<>]/, slack);
    assert.match(slack, /&lt;!channel&gt;/);
    assert.match(slack, /&lt;http:\/\/x\.test\|y&gt;/);
    assert.doesNotMatch(slack, /\]\(/, 'no markdown link');
    // Discord: markdown characters are backslash-escaped; a masked link cannot form.
    assert.doesNotMatch(discord, /(?<!\\)[<>[\]*_~`|]/, discord);
    assert.match(discord, /\\\[click\\\]\(http:\/\/x\.test\)/);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    // The structured fields stay data: the error as the job holds it, JSON-escaped.
    assert.deepEqual((body.job as { error: unknown }).error, { message: HOSTILE });
  });

  it('a long hostile error is cut before escaping and the text stays under Discord\'s limit', async () => {
    const notifier = createNotifier({ url, timeoutMs: 5000 })!;
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };
    await notifier.send({ reason: 'failed', jobId: 'j-2', attempt: 1, kind: 'workflow', status: 'failed', error: { message: '<\x1b'.repeat(5000) } }, silent);
    const body = bodies.at(-1)!;
    assert.ok((body.content as string).length <= 2000 && (body.text as string).length <= 2000);
    assert.doesNotMatch(body.content as string, CONTROL);
  });
});
