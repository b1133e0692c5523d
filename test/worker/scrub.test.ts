/**
 * Secret scrubbing of output that arrives in chunks: a secret split across
 * chunks at any point is replaced, what could begin a secret is held back
 * only until the next chunk or the end shows it is not one, and nothing is
 * held without secrets.
 */
import { describe, expect, it } from 'vitest';
import { SCRUBBED, StreamScrubber, scrubSecrets, secretPrefixAtEnd, secretTexts } from '../../src/worker/scrub.js';

const SECRET = 's3cr3t-value';

/** The stream's stored text when `text` arrives cut at `cuts`. */
function through(text: string, cuts: number[], secrets: string[]): { stored: string; pieces: string[] } {
  const scrubber = new StreamScrubber(secrets);
  const pieces: string[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    pieces.push(scrubber.push(text.slice(from, cut)));
    from = cut;
  }
  pieces.push(scrubber.end());
  return { stored: pieces.join(''), pieces };
}

describe('StreamScrubber', () => {
  it('replaces a secret cut across two chunks at every position, and no piece holds a part of it', () => {
    const text = `before ${SECRET} after`;
    for (let cut = 1; cut < text.length; cut++) {
      const { stored, pieces } = through(text, [cut], [SECRET]);
      expect(stored, `cut at ${cut}`).toBe(`before ${SCRUBBED} after`);
      for (const piece of pieces) expect(piece.includes(SECRET.slice(0, 4)) && !piece.includes(SCRUBBED), `cut at ${cut}`).toBe(false);
    }
  });

  it('replaces a secret cut into one-character chunks', () => {
    const text = `x${SECRET}y${SECRET}`;
    const { stored } = through(text, Array.from({ length: text.length - 1 }, (_, i) => i + 1), [SECRET]);
    expect(stored).toBe(`x${SCRUBBED}y${SCRUBBED}`);
  });

  it('holds what could begin a secret only until it is shown not to be one', () => {
    const scrubber = new StreamScrubber([SECRET]);
    expect(scrubber.push('value s3cr')).toBe('value ');
    expect(scrubber.push('ets are fine\n')).toBe('s3crets are fine\n');
    expect(scrubber.push('and s3c')).toBe('and ');
    expect(scrubber.end()).toBe('s3c');
    expect(scrubber.end()).toBe('');
  });

  it('replaces the longer of two secrets where one contains the other', () => {
    const secrets = secretTexts(['abcd', 'xxabcdxx']);
    expect(through('1 xxabcdxx 2 abcd 3', [5], secrets).stored).toBe(`1 ${SCRUBBED} 2 ${SCRUBBED} 3`);
  });

  it('passes chunks through untouched when there is no secret', () => {
    const scrubber = new StreamScrubber([]);
    expect(scrubber.push('anything s3cr')).toBe('anything s3cr');
    expect(scrubber.end()).toBe('');
  });
});

describe('secretPrefixAtEnd', () => {
  it('is the longest end of the text that starts a secret, never a whole one', () => {
    expect(secretPrefixAtEnd('abc s3c', [SECRET])).toBe(3);
    expect(secretPrefixAtEnd('abc s', [SECRET, 'sx-other'])).toBe(1);
    expect(secretPrefixAtEnd(`abc ${SECRET}`, [SECRET])).toBe(0);
    expect(secretPrefixAtEnd('abc', [SECRET])).toBe(0);
    expect(secretPrefixAtEnd('', [SECRET])).toBe(0);
    // A repeated first character: the longest start wins.
    expect(secretPrefixAtEnd('x aaa', ['aaaa'])).toBe(3);
  });
});

describe('scrubSecrets', () => {
  it('replaces a whole secret within one text', () => {
    expect(scrubSecrets(`a ${SECRET} b`, [SECRET])).toBe(`a ${SCRUBBED} b`);
  });
});
