/** The dashboard: executions per status over the last hour, queue depth, live workers, recent failures, pending inquiries. */
import { get } from '../api';
import { Empty, ErrorBox, Loading, PageHeader, Status, Time } from '../components';
import { useLiveRefresh, useLoad } from '../hooks';
import { Link } from '../router';
import { EXECUTION_STATUSES, type Execution, type Inquiry, type Worker } from '../types';

interface Dashboard {
  since: string;
  executions_by_status: Record<string, number>;
  queue_depth: number;
  live_workers: Worker[];
  recent_failures: Execution[];
  pending_inquiries: number;
  next_inquiries: Inquiry[];
}

export function DashboardPage() {
  const { data, error, loading, reload } = useLoad((signal) => get<{ data: Dashboard }>('/stats/dashboard', {}, signal), []);
  useLiveRefresh(reload, () => true, 1000);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} />;
  const d = data.data;
  const counts = EXECUTION_STATUSES.map((status) => [status, d.executions_by_status[status] ?? 0] as const);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const max = Math.max(1, ...counts.map(([, n]) => n));
  return (
    <>
      <PageHeader title="Dashboard" />
      <ErrorBox error={error} title="Could not refresh" />
      <section className="cards" aria-label="Summary">
        <Link className="card" to="/executions?since=1h">
          <span className="card-value">{total}</span>
          <span className="card-label">executions in the last hour</span>
        </Link>
        <Link className="card" to="/executions?status=requested">
          <span className="card-value">{d.queue_depth}</span>
          <span className="card-label">waiting in the queue</span>
        </Link>
        <div className="card">
          <span className="card-value">{d.live_workers.length}</span>
          <span className="card-label">live workers</span>
        </div>
        <Link className="card" to="/inquiries">
          <span className="card-value">{d.pending_inquiries}</span>
          <span className="card-label">pending inquiries</span>
        </Link>
      </section>
      <div className="grid-2">
        <section className="panel" aria-labelledby="by-status">
          <h2 id="by-status">Executions per status, last hour</h2>
          {total === 0 ? (
            <Empty>
              No executions in the last hour. <Link to="/actions">Run an action</Link>
            </Empty>
          ) : (
            <ul className="bars">
              {counts
                .filter(([, n]) => n > 0)
                .map(([status, n]) => (
                  <li key={status}>
                    <Link to={`/executions?status=${status}&since=1h`} className="bar-label">
                      <Status status={status} />
                    </Link>
                    <span className="bar" aria-hidden="true">
                      <span className={`bar-fill status-bg-${status}`} style={{ width: `${(100 * n) / max}%` }} />
                    </span>
                    <span className="bar-value">{n}</span>
                  </li>
                ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="workers">
          <h2 id="workers">Live workers</h2>
          {d.live_workers.length === 0 ? (
            <Empty>No worker has sent a heartbeat in the last 30 seconds: requested executions wait until one runs (`attune up` or `attune worker`).</Empty>
          ) : (
            <ul className="plain">
              {d.live_workers.map((w) => (
                <li key={w.id}>
                  <strong>{w.name}</strong> <span className="muted">{w.worker_type}</span> · <Status status={w.status} /> · heartbeat <Time value={w.last_heartbeat} />
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="failures">
          <h2 id="failures">Recent failures</h2>
          {d.recent_failures.length === 0 ? (
            <Empty>No failed executions.</Empty>
          ) : (
            <ul className="plain">
              {d.recent_failures.map((e) => (
                <li key={e.id}>
                  <Link to={`/executions/${e.id}`}>#{e.id}</Link> <code>{e.action_ref}</code> <Status status={e.status} /> <Time value={e.finished_at ?? e.updated_at} />
                  {e.error !== null && <div className="muted small clip">{e.error}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="panel" aria-labelledby="inquiries">
          <h2 id="inquiries">Pending inquiries</h2>
          {d.next_inquiries.length === 0 ? (
            <Empty>Nothing is waiting for an answer.</Empty>
          ) : (
            <ul className="plain">
              {d.next_inquiries.map((q) => (
                <li key={q.id}>
                  <Link to={`/inquiries/${q.id}`}>{q.prompt || `Inquiry #${q.id}`}</Link> <span className="muted">times out</span> <Time value={q.timeout_at} />
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
