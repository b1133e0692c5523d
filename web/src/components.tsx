/** Small shared pieces: status badges, times, JSON, empty/error/loading states, tables. */
import type { ReactNode } from 'react';
import { ApiError } from './api';
import type { Json } from './types';

export function Status({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}

/** A timestamp: relative to now for the eye, the full UTC time on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const date = new Date(value);
  return (
    <time dateTime={value} title={date.toISOString()}>
      {relative(date)}
    </time>
  );
}

export function relative(date: Date, now = Date.now()): string {
  const seconds = Math.round((now - date.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const suffix = seconds >= 0 ? 'ago' : 'from now';
  if (abs < 5) return 'just now';
  if (abs < 60) return `${abs}s ${suffix}`;
  if (abs < 3600) return `${Math.floor(abs / 60)}m ${suffix}`;
  if (abs < 86_400) return `${Math.floor(abs / 3600)}h ${suffix}`;
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** Duration between two timestamps, or until now while running. */
export function duration(start: string | null, end: string | null): string {
  if (start === null) return '—';
  const ms = (end === null ? Date.now() : new Date(end).getTime()) - new Date(start).getTime();
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function JsonView({ value, label }: { value: Json | undefined; label?: string }) {
  const empty = value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0);
  if (empty) return <p className="muted">{label === undefined ? 'none' : `no ${label}`}</p>;
  return (
    <pre className="json" aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  );
}

/** An error as the API gave it: its message, what field, and the code for searching docs/errors.md. */
export function ErrorBox({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-box" role="alert">
      <strong>{title}</strong>
      <p>{message}</p>
      {error instanceof ApiError && (
        <p className="muted small">
          {error.code}
          {error.field !== undefined && ` · field ${error.field}`}
        </p>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children !== undefined && <div className="page-actions">{children}</div>}
    </header>
  );
}

/** A table with a header row that scrolls sideways on a narrow window instead of overflowing it. */
export function Table({ head, children, label }: { head: string[]; children: ReactNode; label: string }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A definition list of label → value pairs. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** "Load more" for cursor-paged lists. */
export function More({ cursor, onMore }: { cursor: string | null | undefined; onMore: () => void }) {
  if (cursor === null || cursor === undefined) return null;
  return (
    <button type="button" className="secondary more" onClick={onMore}>
      Load more
    </button>
  );
}
