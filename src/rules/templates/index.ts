/**
 * Jinja templates for rule parameters, action parameter defaults and criteria
 * patterns, rendered in a sandbox with budgets. Work in progress.
 */
import type { KeyStoreView } from './key-store.js';

export type { KeyStoreView, KeyScope, KeyEntry } from './key-store.js';

/** What a template can see. */
export interface TemplateContext {
  /**
   * Names the template reads: `trigger`, `event`, `rule`, `config`,
   * `config_context`, `action_context`, other action parameters. JSON data;
   * copied into plain values before rendering.
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** Behind `st2kv.system.*` and `keys.*`; without one every key is missing (renders ''). */
  readonly keyStore?: KeyStoreView;
}

/** Budgets for one render. */
export interface RenderOptions {
  /** Evaluation steps before the render fails. Default 100,000. */
  maxSteps?: number;
  /** Characters of output (and of any one string built) before the render fails. Default 1 MiB. */
  maxOutput?: number;
}

/**
 * Renders `template` against `context`. A template that is exactly one
 * expression keeps the value's type; otherwise the result is text.
 */
export function renderTemplate(template: string, context: TemplateContext, options: RenderOptions = {}): unknown {
  void context;
  void options;
  return template;
}
