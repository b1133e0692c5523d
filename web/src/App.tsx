/** The shell: navigation, the live indicator, who is logged in, and the page for the current path. */
import { useEffect, useState, type ReactNode } from 'react';
import { useLiveState } from './live';
import { Link, match, useLocation } from './router';
import { useSession } from './session';
import { ActionPage, ActionsPage } from './pages/actions';
import { DashboardPage } from './pages/dashboard';
import { EnforcementPage, EnforcementsPage, EventPage, EventsPage } from './pages/events';
import { ExecutionPage } from './pages/execution';
import { ExecutionsPage } from './pages/executions';
import { InquiriesPage, InquiryPage } from './pages/inquiries';
import { KeysPage } from './pages/keys';
import { PackPage, PacksPage } from './pages/packs';
import { RulePage } from './pages/rule';
import { RulesPage } from './pages/rules';

const NAV: [string, string][] = [
  ['/', 'Dashboard'],
  ['/executions', 'Executions'],
  ['/actions', 'Actions'],
  ['/rules', 'Rules'],
  ['/events', 'Events'],
  ['/enforcements', 'Enforcements'],
  ['/inquiries', 'Inquiries'],
  ['/packs', 'Packs'],
  ['/keys', 'Keys'],
];

type Route = [pattern: string, render: (params: Record<string, string>) => ReactNode, title: string];

const ROUTES: Route[] = [
  ['/', () => <DashboardPage />, 'Dashboard'],
  ['/executions', () => <ExecutionsPage />, 'Executions'],
  ['/executions/:id', (p) => <ExecutionPage id={Number(p.id)} />, 'Execution'],
  ['/actions', () => <ActionsPage />, 'Actions'],
  ['/actions/:ref', (p) => <ActionPage actionRef={p.ref!} />, 'Action'],
  ['/rules', () => <RulesPage />, 'Rules'],
  ['/rules/:ref', (p) => <RulePage ruleRef={p.ref!} />, 'Rule'],
  ['/events', () => <EventsPage />, 'Events'],
  ['/events/:id', (p) => <EventPage id={Number(p.id)} />, 'Event'],
  ['/enforcements', () => <EnforcementsPage />, 'Enforcements'],
  ['/enforcements/:id', (p) => <EnforcementPage id={Number(p.id)} />, 'Enforcement'],
  ['/inquiries', () => <InquiriesPage />, 'Inquiries'],
  ['/inquiries/:id', (p) => <InquiryPage id={Number(p.id)} />, 'Inquiry'],
  ['/packs', () => <PacksPage />, 'Packs'],
  ['/packs/:ref', (p) => <PackPage packRef={p.ref!} />, 'Pack'],
  ['/keys', () => <KeysPage />, 'Keys'],
];

function resolve(path: string): { page: ReactNode; title: string } {
  for (const [pattern, render, title] of ROUTES) {
    const params = match(pattern, path);
    if (params !== null) return { page: render(params), title };
  }
  return {
    page: (
      <div className="empty">
        <h1>Not found</h1>
        <p>
          Nothing lives at <code>{path}</code>. <Link to="/">Back to the dashboard</Link>
        </p>
      </div>
    ),
    title: 'Not found',
  };
}

function section(path: string): string {
  return path === '/' ? '/' : `/${path.split('/')[1] ?? ''}`;
}

export function App() {
  const { path } = useLocation();
  const { who, logout } = useSession();
  const live = useLiveState();
  const [menuOpen, setMenuOpen] = useState(false);
  const { page, title } = resolve(path);
  useEffect(() => {
    document.title = `${title} · Attune`;
    setMenuOpen(false);
  }, [path, title]);
  const current = section(path);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true">◆</span> Attune
        </Link>
        <button type="button" className="menu-toggle secondary" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <span className={`live live-${live}`} title={live === 'live' ? 'Updates arrive from the live stream' : live === 'polling' ? 'The live stream is unavailable: refreshing every few seconds' : 'Connecting to the live stream'}>
          {live === 'live' ? 'live' : live === 'polling' ? 'polling' : '…'}
        </span>
        <span className="who">
          {who.login} <span className="muted">({who.role})</span>
        </span>
        {logout !== null && (
          <button type="button" className="secondary" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <nav id="nav" className={menuOpen ? 'open' : ''} aria-label="Main">
        <ul>
          {NAV.map(([to, label]) => (
            <li key={to}>
              <Link to={to} aria-current={current === to ? 'page' : undefined}>
                {label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
