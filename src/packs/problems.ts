/**
 * What the pack reader found wrong: each problem names the file, the line
 * (and column when known) and the field, so an author can go straight to it.
 * The reader collects every problem before giving up; `PackInvalidError`
 * carries all of them.
 */
import { AttuneError, ErrorCode } from '../errors.js';

/** `error` stops the pack from registering; `warning` is reported and registration goes on. */
export type ProblemSeverity = 'error' | 'warning';

/** One thing wrong in a pack. */
export interface PackProblem {
  severity: ProblemSeverity;
  /** Path relative to the pack root, posix style (`actions/echo.yaml`); `''` for the pack as a whole. */
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  /** 1-based, when known. */
  column?: number;
  /** Dotted path of the offending field (`parameters.cmd.type`); `''` for the whole file. */
  field: string;
  message: string;
}

/** Where in a file: line and column (1-based). */
export interface Position {
  line: number;
  column?: number;
}

/** Collects problems as a reader goes; nothing is thrown until the end. */
export class ProblemList {
  readonly items: PackProblem[] = [];

  error(file: string, field: string, message: string, at: Position = { line: 0 }): void {
    this.add('error', file, field, message, at);
  }

  warning(file: string, field: string, message: string, at: Position = { line: 0 }): void {
    this.add('warning', file, field, message, at);
  }

  get errors(): PackProblem[] {
    return this.items.filter((problem) => problem.severity === 'error');
  }

  get warnings(): PackProblem[] {
    return this.items.filter((problem) => problem.severity === 'warning');
  }

  hasErrors(): boolean {
    return this.items.some((problem) => problem.severity === 'error');
  }

  private add(severity: ProblemSeverity, file: string, field: string, message: string, at: Position): void {
    const problem: PackProblem = { severity, file, line: at.line, field, message };
    if (at.column !== undefined) problem.column = at.column;
    this.items.push(problem);
  }
}

/** `actions/echo.yaml:4:3 parameters.cmd: must be a mapping`. */
export function formatProblem(problem: PackProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}${problem.column === undefined ? '' : `:${problem.column}`}` : problem.file || '(pack)';
  return `${where}${problem.field === '' ? '' : ` ${problem.field}`}: ${problem.message}`;
}

/** Sorted by file, then line: the order an author reads them in. */
export function sortProblems(problems: readonly PackProblem[]): PackProblem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
}

/** How many problems the error message lists before "and N more". */
const MESSAGE_PROBLEMS = 10;

/** A pack cannot be registered: every error found is in `problems` (warnings too). */
export class PackInvalidError extends AttuneError {
  readonly problems: PackProblem[];

  constructor(problems: readonly PackProblem[], packRef?: string) {
    const sorted = sortProblems(problems);
    const errors = sorted.filter((problem) => problem.severity === 'error');
    const listed = errors.slice(0, MESSAGE_PROBLEMS).map((problem) => `  ${formatProblem(problem)}`);
    if (errors.length > MESSAGE_PROBLEMS) listed.push(`  … and ${errors.length - MESSAGE_PROBLEMS} more`);
    const subject = packRef === undefined ? 'the pack' : `pack '${packRef}'`;
    super(ErrorCode.PACK_INVALID, `${subject} is invalid (${errors.length} ${errors.length === 1 ? 'error' : 'errors'}):\n${listed.join('\n')}`, {
      entity: 'pack',
      field: errors[0]?.field,
    });
    this.problems = sorted;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}
