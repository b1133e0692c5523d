import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ENCRYPTION_KEY_SETTING, SecretCipher, isKeyId } from '../../src/crypto/secrets.js';
import { ConfigError, DecryptionError, ValidationError } from '../../src/errors.js';

const KEY_TEXT = 'unit-test-key-text-0123456789abcdefghij';
const OTHER_KEY_TEXT = 'another-unit-test-key-0123456789abcdef';
const PLAINTEXT = 'hunter2-correct-horse-battery-staple';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Replaces the base64url field at `index` (2 iv, 3 tag, 4 data) with a one-bit-flipped copy. */
function flip(ciphertext: string, index: number): string {
  const parts = ciphertext.split(':');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join(':');
}

describe('SecretCipher construction', () => {
  it('derives a stable 16-hex key id from the key text, different for different texts', () => {
    const a = new SecretCipher(KEY_TEXT);
    expect(isKeyId(a.keyId)).toBe(true);
    expect(new SecretCipher(KEY_TEXT).keyId).toBe(a.keyId);
    expect(new SecretCipher(OTHER_KEY_TEXT).keyId).not.toBe(a.keyId);
    expect(KEY_TEXT).not.toContain(a.keyId);
  });

  it('refuses key text shorter than 32 characters with a ConfigError naming the setting, never the key', () => {
    const short = 'too-short-secret-abc';
    const error = thrown(() => new SecretCipher(short));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(ENCRYPTION_KEY_SETTING);
    expect(error.message).toContain('32');
    expect(error.message).not.toContain(short);
    expect(JSON.stringify(error)).not.toContain(short);
    expect(() => new SecretCipher('x'.repeat(32))).not.toThrow();
    expect(() => new SecretCipher(undefined as never)).toThrow(ConfigError);
  });

  it('fromConfig returns undefined without a key and a cipher with one', () => {
    expect(SecretCipher.fromConfig({ encryptionKey: undefined })).toBeUndefined();
    expect(SecretCipher.fromConfig({ encryptionKey: '' })).toBeUndefined();
    expect(SecretCipher.fromConfig({ encryptionKey: KEY_TEXT })?.keyId).toBe(new SecretCipher(KEY_TEXT).keyId);
    expect(() => SecretCipher.fromConfig({ encryptionKey: 'short' })).toThrow(ConfigError);
  });
});

describe('SecretCipher encrypt and decrypt', () => {
  const cipher = new SecretCipher(KEY_TEXT);

  it.each([
    ['a string', PLAINTEXT],
    ['an object', { user: 'svc', password: PLAINTEXT, nested: [1, null, true] }],
    ['an array', ['a', 2]],
    ['a number', 42],
    ['false', false],
    ['null', null],
    ['unicode', 'pässwörd ✓ 密码'],
  ])('round-trips %s', (_, value) => {
    const text = cipher.encrypt(value, 'system.db');
    expect(cipher.decrypt(text, 'system.db')).toEqual(value);
  });

  it('writes v1:<keyId>:<iv>:<tag>:<data> with a fresh IV every time and no plaintext', () => {
    const first = cipher.encrypt(PLAINTEXT, 'system.db');
    const second = cipher.encrypt(PLAINTEXT, 'system.db');
    expect(first).toMatch(/^v1:[0-9a-f]{16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(first.split(':')[1]).toBe(cipher.keyId);
    expect(first).not.toBe(second);
    expect(first.split(':')[2]).not.toBe(second.split(':')[2]);
    expect(first).not.toContain(PLAINTEXT);
    expect(Buffer.from(first.split(':')[4]!, 'base64url').toString('utf8')).not.toContain('hunter2');
    expect(SecretCipher.isCiphertext(first)).toBe(true);
    expect(SecretCipher.keyIdOf(first)).toBe(cipher.keyId);
    expect(SecretCipher.isCiphertext(PLAINTEXT)).toBe(false);
    expect(SecretCipher.keyIdOf(42)).toBeNull();
  });

  it('refuses values that are not JSON, without echoing them', () => {
    const error = thrown(() => cipher.encrypt(() => PLAINTEXT, 'system.db'));
    expect(error).toBeInstanceOf(ValidationError);
    expect(() => cipher.encrypt(undefined, 'system.db')).toThrow(ValidationError);
    expect(() => cipher.encrypt(10n, 'system.db')).toThrow(ValidationError);
    expect(() => cipher.encrypt('x', 42 as never)).toThrow(ValidationError);
  });

  it('a value encrypted under another key is a DecryptionError naming both key ids', () => {
    const other = new SecretCipher(OTHER_KEY_TEXT);
    const text = other.encrypt(PLAINTEXT, 'system.db');
    const error = thrown(() => cipher.decrypt(text, 'system.db'));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).toContain(other.keyId);
    expect(error.message).toContain(cipher.keyId);
    expect(error.message).not.toContain(PLAINTEXT);
  });

  it('a header edited to claim the configured key id still fails authentication', () => {
    const other = new SecretCipher(OTHER_KEY_TEXT);
    const forged = other.encrypt(PLAINTEXT, 'system.db').replace(other.keyId, cipher.keyId);
    const error = thrown(() => cipher.decrypt(forged, 'system.db'));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).toMatch(/authentication/);
  });

  it.each([
    [2, 'IV'],
    [3, 'tag'],
    [4, 'ciphertext'],
  ])('a flipped bit in the %s (field %i) is a DecryptionError without plaintext', (index) => {
    const text = cipher.encrypt(PLAINTEXT, 'system.db');
    const error = thrown(() => cipher.decrypt(flip(text, index as number), 'system.db'));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).not.toContain(PLAINTEXT);
    expect(inspect(error, { depth: 5 })).not.toContain(PLAINTEXT);
  });

  it('a different AAD (the value moved to another key) is a DecryptionError', () => {
    const text = cipher.encrypt(PLAINTEXT, 'system.db');
    const error = thrown(() => cipher.decrypt(text, 'system.other'));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).toContain('another record');
  });

  it.each([
    ['plain text', PLAINTEXT],
    ['a v2 tag', 'v2:0123456789abcdef:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA:AAAA'],
    ['a short IV', 'v1:0123456789abcdef:AAAA:AAAAAAAAAAAAAAAAAAAAAA:AAAA'],
    ['a truncated string', 'v1:0123456789abcdef:AAAAAAAAAAAAAAAA'],
    ['a number', 42],
  ])('refuses %s as ciphertext with DecryptionError', (_, text) => {
    const error = thrown(() => cipher.decrypt(text as string, 'system.db'));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).not.toContain(PLAINTEXT);
  });
});

describe('SecretCipher never shows its key', () => {
  const cipher = new SecretCipher(KEY_TEXT);

  it('JSON.stringify, util.inspect, String and own properties show the key id only', () => {
    expect(JSON.parse(JSON.stringify(cipher))).toEqual({ keyId: cipher.keyId });
    expect(JSON.stringify({ nested: { cipher } })).toBe(`{"nested":{"cipher":{"keyId":"${cipher.keyId}"}}}`);
    const shown = [inspect(cipher, { showHidden: true, depth: 10 }), inspect({ cipher }), String(cipher), `${cipher}`];
    for (const text of shown) {
      expect(text).toContain(cipher.keyId);
      expect(text).not.toContain(KEY_TEXT);
      expect(text).not.toMatch(/KeyObject|symmetricKeySize|<Buffer/);
    }
    expect(Object.keys(cipher)).toEqual(['keyId']);
    expect(Object.getOwnPropertyNames(cipher)).toEqual(['keyId']);
    expect(Object.getOwnPropertySymbols(cipher)).toEqual([]);
  });

  it('console.log prints the key id only', () => {
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    new Console({ stdout: sink, stderr: sink }).log('cipher', cipher, { cipher });
    expect(output).toContain(cipher.keyId);
    expect(output).not.toContain(KEY_TEXT);
    expect(output).not.toMatch(/KeyObject|<Buffer/);
  });
});
