import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CORE_PACK, EXAMPLES_PACK, json, useCliStack } from './support.js';

// attune run, execution, rule test, event fire and inquiry respond against the
// API with the rules, worker and maintenance roles running in this process.
const stack = useCliStack({ roles: 'engine', packs: [CORE_PACK, EXAMPLES_PACK] });
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('attune run', () => {
  it('streams the output, ends with the result, exit 0 when it succeeded', async () => {
    const run = await stack.attune(['run', 'core.local', 'cmd=echo hello from the cli'], { role: 'operator' });
    expect(run.stderr).toMatch(/^execution \d+ \(core\.local\) requested/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^hello from the cli\n/);
    expect(run.stdout).toMatch(/^ status\s+│ succeeded\s*$/m);
  });

  it('exit 1 when the execution failed; JSON mode prints only the final execution', async () => {
    const failed = await stack.attune(['run', 'core.local', 'cmd=echo oops >&2; exit 3'], { role: 'operator' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('oops');
    expect(failed.stdout).toMatch(/^ status\s+│ failed\s*$/m);
    const asJson = await stack.attune(['run', 'core.local', 'cmd=echo quiet', '-j'], { role: 'operator' });
    expect(asJson.code).toBe(0);
    expect(json(asJson)).toMatchObject({ action_ref: 'core.local', status: 'succeeded' });
  });

  it('types key=value by the action schema and refuses what it cannot type, naming the parameter', async () => {
    const typed = json(await stack.attune(['run', 'core.local', 'cmd=echo $X', 'timeout=30', 'sudo=false', '--params-json', '{"env": {"X": "typed"}}', '-j'], { role: 'operator' }));
    expect(typed).toMatchObject({ status: 'succeeded', params: { timeout: 30, sudo: false, env: { X: 'typed' } } });
    const notInt = await stack.attune(['run', 'core.local', 'cmd=date', 'timeout=soon']);
    expect(notInt).toMatchObject({ code: 1, stderr: "error: parameter timeout must be an integer, got 'soon'\n" });
    const unknown = await stack.attune(['run', 'core.local', 'cmd=date', 'colour=blue']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: action core\.local has no parameter colour \(it takes: cmd, cwd, env, .*\)\n$/);
    const viewer = await stack.attune(['run', 'core.local', 'cmd=date'], { role: 'viewer' });
    expect(viewer.stderr).toBe('error: forbidden: this needs the operator role; viewer_cli has viewer\n');
  });
});

describe('attune execution', () => {
  it('--async, tail, get, output, list with filters, re-run', async () => {
    const started = await stack.attune(['run', 'core.local', 'cmd=echo tailed', '--async'], { role: 'operator' });
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^\d+$/);
    expect(started.stderr).toBe(`execution ${id} requested: follow it with attune execution tail ${id}\n`);
    const tail = await stack.attune(['execution', 'tail', id]);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toMatch(/^tailed\n/);
    expect(json(await stack.attune(['execution', 'get', id, '-j']))).toMatchObject({ id: Number(id), status: 'succeeded' });
    expect((await stack.attune(['execution', 'output', id])).stdout).toBe('tailed\n');
    const output = json(await stack.attune(['execution', 'output', id, '-j']));
    expect(output).toEqual([expect.objectContaining({ stream: 'stdout', data: 'tailed\n' })]);

    const listed = json(await stack.attune(['execution', 'list', '--action', 'core.local', '--status', 'succeeded', '--since', '1h', '-j']));
    expect(listed.map((e: { id: number }) => e.id)).toContain(Number(id));
    expect(listed.every((e: { status: string }) => e.status === 'succeeded')).toBe(true);
    const table = await stack.attune(['execution', 'list', '--status', 'succeeded,failed']);
    expect(table.stdout).toMatch(new RegExp(`^ ${id}\\s+│ core\\.local\\s+│ succeeded`, 'm'));
    const badStatus = await stack.attune(['execution', 'list', '--status', 'done']);
    expect(badStatus.code).toBe(2);

    const rerun = await stack.attune(['execution', 're-run', id, 'cmd=echo again'], { role: 'operator' });
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/^again\n/);
  });

  it('cancel a running execution', async () => {
    const id = (await stack.attune(['run', 'core.local', 'cmd=sleep 30', '--async'], { role: 'operator' })).stdout.trim();
    const canceled = await stack.attune(['execution', 'cancel', id], { role: 'operator' });
    expect(canceled.code).toBe(0);
    expect(canceled.stderr).toMatch(new RegExp(`^✓ execution ${id} (canceling|canceled)\\n$`));
    const end = await stack.attune(['execution', 'tail', id, '-j']);
    expect(end.code).toBe(1);
    expect(json(end).status).toBe('canceled');
  });
});

describe('attune rule test and event fire', () => {
  it('prints each criterion\'s verdict and the rendered parameters; exit 1 when it does not match', async () => {
    const rule = join(stack.dir, 'greet-rule.yaml');
    await writeFile(rule, 'name: cli_greet\ntrigger: {type: core.st2.webhook, parameters: {url: greet}}\ncriteria:\n  trigger.body.name: {type: exists}\naction:\n  ref: core.http\n  parameters: {url: "http://127.0.0.1:9/hello/{{ trigger.body.name }}"}\n');
    expect((await stack.attune(['rule', 'create', rule], { role: 'operator' })).code).toBe(0);
    const payload = join(stack.dir, 'payload.json');
    await writeFile(payload, JSON.stringify({ headers: {}, body: { name: 'Ada' } }));
    const matched = await stack.attune(['rule', 'test', 'default.cli_greet', '--payload', payload], { role: 'operator' });
    expect(matched.stdout).toMatch(/^ {2}✓ trigger\.body\.name: "Ada" exists/m);
    expect(matched.stdout).toMatch(/^ {2}result: match$/m);
    expect(matched.stdout).toMatch(/^ {2}core\.http would get:$/m);
    expect(matched.stdout).toContain('"url": "http://127.0.0.1:9/hello/Ada"');
    expect(matched.code).toBe(0);
    await writeFile(payload, JSON.stringify({ headers: {}, body: {} }));
    const missed = await stack.attune(['rule', 'test', 'default.cli_greet', '--payload', payload, '-j'], { role: 'operator' });
    expect(missed.code).toBe(1);
    expect(json(missed)).toMatchObject({ matched: false, criteria: [expect.objectContaining({ key: 'trigger.body.name', matched: false })] });
  });

  it('event fire stores an event the rules then process', async () => {
    const fired = await stack.attune(['event', 'fire', 'core.st2.webhook', '--payload', '{"headers": {}, "body": {"name": "Lin"}}', '-j'], { role: 'operator', env: {} });
    expect(fired.code).toBe(0);
    const event = json(fired);
    expect(event).toMatchObject({ trigger_ref: 'core.st2.webhook' });
    const bad = await stack.attune(['event', 'fire', 'core.st2.webhook', '--payload', '{nope'], { role: 'operator' });
    expect(bad.stderr).toMatch(/^error: --payload is not valid JSON/);
  });
});

describe('attune inquiry', () => {
  async function pendingInquiry(): Promise<{ execution: string; inquiry: number }> {
    const execution = (await stack.attune(['run', 'core.ask', `schema=${JSON.stringify({ type: 'object', properties: { approved: { type: 'boolean', description: 'go ahead?' }, comment: { type: 'string' }, copies: { type: 'integer' } }, required: ['approved'] })}`, '--async'], { role: 'operator' })).stdout.trim();
    for (;;) {
      const found = json(await stack.attune(['inquiry', 'list', '--execution', execution, '-j']));
      if (found.length > 0) return { execution, inquiry: found[0].id };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('list, get, respond --response; the execution then succeeds', async () => {
    const { execution, inquiry } = await pendingInquiry();
    const list = await stack.attune(['inquiry', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^ ${inquiry}\\s+│ ${execution}\\s+│ pending`, 'm'));
    expect(json(await stack.attune(['inquiry', 'get', String(inquiry), '-j']))).toMatchObject({ id: inquiry, status: 'pending' });
    const noTty = await stack.attune(['inquiry', 'respond', String(inquiry)], { role: 'operator' });
    expect(noTty.stderr).toBe('error: no terminal to ask on: give the answer with --response \'{"field": value}\'\n');
    const wrong = await stack.attune(['inquiry', 'respond', String(inquiry), '--response', '{"approved": "yes"}'], { role: 'operator' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: .*approved/);
    const answered = await stack.attune(['inquiry', 'respond', String(inquiry), '--response', '{"approved": true}'], { role: 'operator' });
    expect(answered).toMatchObject({ code: 0, stderr: `✓ inquiry ${inquiry} answered\n` });
    const end = await stack.attune(['execution', 'tail', execution, '-j']);
    expect(json(end)).toMatchObject({ status: 'succeeded' });
  });

  it('respond on a terminal prompts field by field (driven through tmux)', async () => {
    const { execution, inquiry } = await pendingInquiry();
    const session = `attune-cli-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; ; i++) {
        const text = screen();
        if (pattern.test(text)) return text;
        if (i > 250) throw new Error(`the terminal never showed ${pattern}:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const command = `cd ${ROOT} && ATTUNE_API_URL=${stack.url} ATTUNE_API_TOKEN=${stack.tokens.operator} ATTUNE_CLI_CONFIG=${join(stack.dir, 'none.yaml')} NO_COLOR=1 ./attune inquiry respond ${inquiry}; echo "exit=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', command);
    try {
      await waitFor(/approved \(go ahead\?\)/);
      tmux('send-keys', '-t', session, 'y', 'Enter');
      await waitFor(/comment \[optional\]/);
      tmux('send-keys', '-t', session, '-l', 'ship it');
      tmux('send-keys', '-t', session, 'Enter');
      await waitFor(/copies \[optional\]/);
      tmux('send-keys', '-t', session, '-l', 'two');
      tmux('send-keys', '-t', session, 'Enter');
      await waitFor(/copies must be an integer/);
      tmux('send-keys', '-t', session, 'BSpace', 'BSpace', 'BSpace');
      tmux('send-keys', '-t', session, '-l', '2');
      tmux('send-keys', '-t', session, 'Enter');
      const done = await waitFor(/exit=\d/);
      expect(done).toContain(`✓ inquiry ${inquiry} answered`);
      expect(done).toContain('exit=0');
    } finally {
      try {
        tmux('kill-session', '-t', session);
      } catch {
        // already gone
      }
    }
    const answered = json(await stack.attune(['inquiry', 'get', String(inquiry), '-j']));
    expect(answered).toMatchObject({ status: 'responded', response: { approved: true, comment: 'ship it', copies: 2 } });
    expect(json(await stack.attune(['execution', 'tail', execution, '-j'])).status).toBe('succeeded');
  }, 120_000);
});
