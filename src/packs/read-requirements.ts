/** requirements.txt: the Python requirements of the pack's Python actions and sensors, one per line. */
import { decodeUtf8 } from './yaml.js';
import type { ProblemList } from './problems.js';

const MAX_LINE = 1000;
const MAX_LINES = 1000;

/** The requirement lines, without comments and blank lines. Each is checked only for length and encoding: pip checks the rest when it installs. */
export function readRequirements(file: string, content: Buffer, problems: ProblemList): string[] {
  const text = decodeUtf8(content);
  if (text === null) {
    problems.error(file, '', 'is not valid UTF-8 text');
    return [];
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    if (line.length > MAX_LINE) problems.error(file, '', `line is longer than ${MAX_LINE} characters`, { line: index + 1 });
    else out.push(line);
  });
  if (out.length > MAX_LINES) {
    problems.error(file, '', `has more than ${MAX_LINES} requirements`);
    return [];
  }
  return out;
}
