import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How the person at the terminal runs `attune`, so that advice such as "run
 * 'attune db setup'" names a command that works where they are:
 *
 * - `checkout`: Attune's own repository (its `src/cli/main.ts` is there); no
 *   `attune` is on the PATH, the npm scripts are (`npm run db:setup`).
 * - `dependency`: installed in a project's node_modules: `npx attune …`.
 * - `installed`: installed globally, the `attune` binary is on the PATH.
 */
export type Invocation = 'checkout' | 'dependency' | 'installed';

/** Where this module runs from decides it: the code's location, not argv, which wrappers rewrite. */
export function detectInvocation(moduleUrl: string = import.meta.url): Invocation {
  const file = fileURLToPath(moduleUrl);
  // src/<module>.ts or dist/<module>.js: the package root is one folder up.
  const root = path.resolve(path.dirname(file), '..');
  if (existsSync(path.join(root, 'src', 'cli', 'main.ts')) && existsSync(path.join(root, 'package.json'))) return 'checkout';
  const parts = root.split(path.sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  if (nodeModules < 0) return 'installed';
  // <project>/node_modules/attune has a project (package.json) above it; <prefix>/lib/node_modules/attune, a global install, does not.
  const above = parts.slice(0, nodeModules).join(path.sep) || path.sep;
  return existsSync(path.join(above, 'package.json')) ? 'dependency' : 'installed';
}

/**
 * The command line that runs `attune <args>` (e.g. `db setup`) for this
 * invocation: in a checkout the npm script made for it when there is one
 * (`npm run db:setup`), else `npm run attune -- <args>`.
 */
export function attuneCommand(args: string, invocation: Invocation = detectInvocation()): string {
  if (invocation === 'installed') return `attune ${args}`;
  if (invocation === 'dependency') return `npx attune ${args}`;
  const script = checkoutScripts().find(([, command]) => command === `tsx src/cli/main.ts ${args}`);
  return script ? `npm run ${script[0]}` : `npm run attune -- ${args}`;
}

let scripts: [string, string][] | undefined;

function checkoutScripts(): [string, string][] {
  if (!scripts) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts?: Record<string, string> };
      scripts = Object.entries(pkg.scripts ?? {});
    } catch {
      scripts = [];
    }
  }
  return scripts;
}
