/** Executions: filters (status, action, rule, time) kept in the URL, newest first, refreshed live. */
import { useState, type FormEvent } from 'react';
import { get, type Page } from '../api';
import { Empty, ErrorBox, Loading, More, PageHeader, Status, Table, Time, duration } from '../components';
import { useLiveRefresh, useLoad } from '../hooks';
import { eventEntity } from '../live';
import { Link, setSearch, useLocation } from '../router';
import { EXECUTION_STATUSES, type Execution } from '../types';

/** The time filter's choices, as `since` offsets. */
export const SINCE: Record<string, number> = { '15m': 15 * 60, '1h': 3600, '24h': 86_400, '7d': 7 * 86_400 };

interface Filters {
  status: string;
  action: string;
  rule: string;
  since: string;
}

function sinceIso(since: string): string | undefined {
  const seconds = SINCE[since];
  return seconds === undefined ? undefined : new Date(Date.now() - seconds * 1000).toISOString();
}

/** One page of executions with the filters given (a rule filter selects the executions its enforcements requested). */
async function loadExecutions(f: Filters, limit: number, signal: AbortSignal): Promise<Page<Execution>> {
  const query = { status: f.status === '' ? undefined : [f.status], action: f.action, rule: f.rule === '' ? undefined : f.rule, since: sinceIso(f.since), limit };
  return get<Page<Execution>>('/executions', query, signal);
}

export function ExecutionsPage() {
  const { search } = useLocation();
  const filters: Filters = { status: search.get('status') ?? '', action: search.get('action') ?? '', rule: search.get('rule') ?? '', since: search.get('since') ?? '' };
  const [limit, setLimit] = useState(50);
  const key = JSON.stringify(filters);
  const { data, error, loading, reload } = useLoad((signal) => loadExecutions(filters, limit, signal), [key, limit]);
  useLiveRefresh(reload, (event) => eventEntity(event).startsWith('execution'));
  return (
    <>
      <PageHeader title="Executions">
        <Link to="/actions" className="button">
          Run an action
        </Link>
      </PageHeader>
      <FilterBar filters={filters} />
      <ErrorBox error={error} title="Cannot list executions" />
      {data === undefined ? (
        loading && <Loading />
      ) : data.data.length === 0 ? (
        <Empty>{key === JSON.stringify({ status: '', action: '', rule: '', since: '' }) ? 'No executions yet. Run an action, or fire a rule.' : 'No execution matches these filters.'}</Empty>
      ) : (
        <>
          <Table label="Executions" head={['#', 'Action', 'Status', 'Created', 'Took', 'Attempt']}>
            {data.data.map((e) => (
              <tr key={e.id} data-execution={e.id}>
                <td>
                  <Link to={`/executions/${e.id}`}>#{e.id}</Link>
                </td>
                <td>
                  <code>{e.action_ref}</code>
                  {e.parent_id !== null && <span className="muted small"> child of #{e.parent_id}</span>}
                </td>
                <td>
                  <Status status={e.status} />
                </td>
                <td>
                  <Time value={e.created_at} />
                </td>
                <td>{duration(e.started_at, e.finished_at)}</td>
                <td>
                  {e.attempt}/{e.max_attempts}
                </td>
              </tr>
            ))}
          </Table>
          <More cursor={data.next_cursor} onMore={() => setLimit((l) => Math.min(500, l + 50))} />
        </>
      )}
    </>
  );
}

function FilterBar({ filters }: { filters: Filters }) {
  const [action, setAction] = useState(filters.action);
  const [rule, setRule] = useState(filters.rule);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSearch({ action: action.trim(), rule: rule.trim() });
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter executions">
      <div className="field">
        <label htmlFor="f-status">Status</label>
        <select id="f-status" value={filters.status} onChange={(e) => setSearch({ status: e.target.value })}>
          <option value="">any</option>
          {EXECUTION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-action">Action</label>
        <input id="f-action" placeholder="core.local" value={action} onChange={(e) => setAction(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="f-rule">Rule</label>
        <input id="f-rule" placeholder="examples.hello_webhook" value={rule} onChange={(e) => setRule(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="f-since">Time</label>
        <select id="f-since" value={filters.since} onChange={(e) => setSearch({ since: e.target.value })}>
          <option value="">any time</option>
          <option value="15m">last 15 minutes</option>
          <option value="1h">last hour</option>
          <option value="24h">last 24 hours</option>
          <option value="7d">last 7 days</option>
        </select>
      </div>
      <button type="submit" className="secondary">
        Apply
      </button>
    </form>
  );
}
