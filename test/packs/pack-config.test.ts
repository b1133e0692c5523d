/**
 * Pack configuration: values validated against config.schema.yaml (defaults
 * applied, required enforced), secret ones encrypted into the keys table;
 * the plaintext never appears in the packs row, a key row, an error or a read.
 */
import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { ValidationError } from '../../src/errors.js';
import { MASKED_SECRET, getPackConfig, resolvePackConfig, setPackConfig } from '../../src/packs/pack-config.js';
import { registerPack } from '../../src/packs/register.js';
import { uninstallPack } from '../../src/packs/uninstall.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { useTransactionPerTest } from '../support/db.js';
import { writePack } from './support.js';

const ctx = useTransactionPerTest();
const cipher = new SecretCipher('pack-config-test-key-0123456789abcdef');
const SECRET = 'hunter2-correct-horse-battery';

const configured = () =>
  writePack({
    'pack.yaml': 'ref: conf\nname: Configured\nversion: 1.0.0\n',
    'config.schema.yaml': [
      'api_url:',
      '  type: string',
      '  required: true',
      'retries:',
      '  type: integer',
      '  default: 3',
      'api_token:',
      '  type: string',
      '  secret: true',
      '  required: true',
      '',
    ].join('\n'),
  });

/** Every text Attune stored for the pack: its rows and its keys. */
async function storedText(): Promise<string> {
  const rows = await ctx.db.query(`SELECT row_to_json(p)::text AS t FROM packs p UNION ALL SELECT row_to_json(k)::text FROM keys k`);
  return rows.rows.map((row) => row.t as string).join('\n');
}

describe('pack configuration', () => {
  it('registration applies defaults; setPackConfig validates, encrypts secrets, and reads mask them', async () => {
    await registerPack(ctx.db, await configured());
    expect((await PackRepository.getByRef(ctx.db, 'conf')).config).toEqual({ retries: 3 });

    const shown = await setPackConfig(ctx.db, 'conf', { api_url: 'https://example.test', api_token: SECRET }, { cipher });
    expect(shown).toEqual({ api_url: 'https://example.test', retries: 3, api_token: MASKED_SECRET });
    expect(await getPackConfig(ctx.db, 'conf')).toEqual(shown);
    expect((await storedText()).includes(SECRET)).toBe(false);
    const resolved = await resolvePackConfig(ctx.db, 'conf', { cipher });
    expect(resolved.api_token === SECRET).toBe(true);
    expect(resolved.api_url).toBe('https://example.test');

    // A stored secret satisfies `required` without being given again.
    expect(await setPackConfig(ctx.db, 'conf', { api_url: 'https://other.test', retries: 5 }, { cipher })).toMatchObject({ api_token: MASKED_SECRET, retries: 5 });
  });

  it('refuses invalid values naming the key, never the value, and changes nothing', async () => {
    await registerPack(ctx.db, await configured());
    const missing = await expectErrorType(setPackConfig(ctx.db, 'conf', { api_token: SECRET }, { cipher }), ValidationError);
    expect(missing).toMatchObject({ field: 'api_url' });
    const wrong = await expectErrorType(setPackConfig(ctx.db, 'conf', { api_url: 'x', api_token: 42, retries: 'many' }, { cipher }), ValidationError);
    expect(wrong.message).toContain('retries');
    expect(wrong.message).toContain('api_token');
    const leaked = await expectErrorType(setPackConfig(ctx.db, 'conf', { api_url: 'x', api_token: SECRET }), ValidationError);
    expect(JSON.stringify({ message: leaked.message, value: leaked.value }).includes(SECRET)).toBe(false);
    expect((await PackRepository.getByRef(ctx.db, 'conf')).config).toEqual({ retries: 3 });
    expect((await storedText()).includes(SECRET)).toBe(false);
  });

  it('a new version keeps the configuration; uninstall removes the secrets', async () => {
    await registerPack(ctx.db, await configured());
    await setPackConfig(ctx.db, 'conf', { api_url: 'https://example.test', api_token: SECRET }, { cipher });
    const v2 = await writePack({
      'pack.yaml': 'ref: conf\nname: Configured\nversion: 2.0.0\n',
      'config.schema.yaml': 'api_url:\n  type: string\napi_token:\n  type: string\n  secret: true\ntimeout:\n  type: integer\n  default: 30\n',
    });
    await registerPack(ctx.db, v2);
    expect(await getPackConfig(ctx.db, 'conf')).toEqual({ api_url: 'https://example.test', retries: 3, timeout: 30, api_token: MASKED_SECRET });
    const report = await uninstallPack(ctx.db, 'conf');
    expect(report.secretsRemoved).toBe(1);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM keys WHERE owner = 'conf'`)).rows[0]).toEqual({ n: 0 });
  });
});
