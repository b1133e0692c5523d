/** Events and enforcements: lists (newest first, refreshed live) and details, linked both ways. */
import { useState } from 'react';
import { get, seg, type Page } from '../api';
import { Empty, ErrorBox, Facts, JsonView, Loading, More, PageHeader, Status, Table, Time } from '../components';
import { useLiveRefresh, useLoad } from '../hooks';
import { eventEntity } from '../live';
import { Link, setSearch, useLocation } from '../router';
import type { AttuneEvent, Enforcement, Execution } from '../types';

export function EventsPage() {
  const { search } = useLocation();
  const trigger = search.get('trigger') ?? '';
  const [limit, setLimit] = useState(50);
  const { data, error, loading, reload } = useLoad((signal) => get<Page<AttuneEvent>>('/events', { trigger, limit }, signal), [trigger, limit]);
  useLiveRefresh(reload, (event) => eventEntity(event) === 'event');
  return (
    <>
      <PageHeader title="Events" />
      <div className="filters">
        <div className="field">
          <label htmlFor="e-trigger">Trigger</label>
          <input id="e-trigger" placeholder="core.st2.webhook" defaultValue={trigger} onBlur={(e) => setSearch({ trigger: e.target.value.trim() })} onKeyDown={(e) => e.key === 'Enter' && setSearch({ trigger: e.currentTarget.value.trim() })} />
        </div>
      </div>
      <ErrorBox error={error} title="Cannot list events" />
      {data === undefined ? (
        loading && <Loading />
      ) : data.data.length === 0 ? (
        <Empty>No events{trigger === '' ? ' yet: webhooks, timers, sensors and POST /api/v1/events make them' : ` of ${trigger}`}.</Empty>
      ) : (
        <>
          <Table label="Events" head={['#', 'Trigger', 'Source', 'Payload', 'When']}>
            {data.data.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={`/events/${e.id}`}>#{e.id}</Link>
                </td>
                <td>
                  <code>{e.trigger_ref}</code>
                </td>
                <td>{e.source ?? '—'}</td>
                <td className="clip">
                  <code>{JSON.stringify(e.payload).slice(0, 80)}</code>
                </td>
                <td>
                  <Time value={e.created_at} />
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

export function EventPage({ id }: { id: number }) {
  const { data, error, loading } = useLoad((signal) => get<{ data: AttuneEvent }>(`/events/${id}`, {}, signal), [id]);
  const enforcements = useLoad((signal) => get<Page<Enforcement>>('/enforcements', { event_id: id, limit: 100 }, signal), [id]);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show event #${id}`} />;
  const e = data.data;
  return (
    <>
      <PageHeader title={`Event #${e.id}`} />
      <section className="panel">
        <Facts
          items={[
            ['Trigger', <code key="t">{e.trigger_ref}</code>],
            ['Source', e.source ?? '—'],
            ['Trace', e.trace_id ?? '—'],
            ['When', <Time key="w" value={e.created_at} />],
          ]}
        />
        <h2>Payload</h2>
        <JsonView value={e.payload} label="payload" />
        {e.trigger_params !== undefined && Object.keys(e.trigger_params).length > 0 && (
          <>
            <h2>Trigger parameters</h2>
            <JsonView value={e.trigger_params} label="trigger parameters" />
          </>
        )}
      </section>
      <section className="panel" aria-labelledby="matched">
        <h2 id="matched">Rules it matched</h2>
        {enforcements.data === undefined ? (
          <Loading />
        ) : enforcements.data.data.length === 0 ? (
          <Empty>No rule matched this event (or it is still queued). Test a rule against it from the rule’s page.</Empty>
        ) : (
          <EnforcementRows rows={enforcements.data.data} />
        )}
      </section>
    </>
  );
}

function EnforcementRows({ rows }: { rows: Enforcement[] }) {
  return (
    <Table label="Enforcements" head={['#', 'Rule', 'Event', 'Status', 'When']}>
      {rows.map((e) => (
        <tr key={e.id}>
          <td>
            <Link to={`/enforcements/${e.id}`}>#{e.id}</Link>
          </td>
          <td>
            <Link to={`/rules/${seg(e.rule_ref)}`}>{e.rule_ref}</Link>
          </td>
          <td>{e.event_id === null ? '—' : <Link to={`/events/${e.event_id}`}>#{e.event_id}</Link>}</td>
          <td>
            <Status status={e.status} />
          </td>
          <td>
            <Time value={e.created_at} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function EnforcementsPage() {
  const { search } = useLocation();
  const status = search.get('status') ?? '';
  const rule = search.get('rule') ?? '';
  const [limit, setLimit] = useState(50);
  const { data, error, loading, reload } = useLoad((signal) => get<Page<Enforcement>>('/enforcements', { status, rule, limit }, signal), [status, rule, limit]);
  useLiveRefresh(reload, (event) => eventEntity(event) === 'enforcement');
  return (
    <>
      <PageHeader title="Enforcements" />
      <div className="filters">
        <div className="field">
          <label htmlFor="en-status">Status</label>
          <select id="en-status" value={status} onChange={(e) => setSearch({ status: e.target.value })}>
            <option value="">any</option>
            {['created', 'processed', 'disabled', 'failed'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="en-rule">Rule</label>
          <input id="en-rule" defaultValue={rule} onBlur={(e) => setSearch({ rule: e.target.value.trim() })} onKeyDown={(e) => e.key === 'Enter' && setSearch({ rule: e.currentTarget.value.trim() })} />
        </div>
      </div>
      <ErrorBox error={error} title="Cannot list enforcements" />
      {data === undefined ? (
        loading && <Loading />
      ) : data.data.length === 0 ? (
        <Empty>No enforcements: one is written each time a rule matches an event.</Empty>
      ) : (
        <>
          <EnforcementRows rows={data.data} />
          <More cursor={data.next_cursor} onMore={() => setLimit((l) => Math.min(500, l + 50))} />
        </>
      )}
    </>
  );
}

export function EnforcementPage({ id }: { id: number }) {
  const { data, error, loading } = useLoad((signal) => get<{ data: Enforcement }>(`/enforcements/${id}`, {}, signal), [id]);
  const executions = useLoad((signal) => get<Page<Execution>>('/executions', { enforcement_id: id, limit: 50 }, signal), [id]);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show enforcement #${id}`} />;
  const e = data.data;
  return (
    <>
      <PageHeader
        title={
          <>
            Enforcement #{e.id} <Status status={e.status} />
          </>
        }
      />
      <section className="panel">
        <Facts
          items={[
            ['Rule', <Link key="r" to={`/rules/${seg(e.rule_ref)}`}>{e.rule_ref}</Link>],
            ['Event', e.event_id === null ? '—' : <Link key="e" to={`/events/${e.event_id}`}>#{e.event_id}</Link>],
            ['Trigger', <code key="t">{e.trigger_ref}</code>],
            ['When', <Time key="w" value={e.created_at} />],
            [
              'Executions',
              executions.data === undefined
                ? '…'
                : executions.data.data.length === 0
                  ? 'none'
                  : executions.data.data.map((x) => (
                      <span key={x.id} className="child">
                        <Link to={`/executions/${x.id}`}>#{x.id}</Link> <Status status={x.status} />{' '}
                      </span>
                    )),
            ],
          ]}
        />
        {e.error !== undefined && e.error !== null && <ErrorBox error={new Error(e.error)} title="Why it did not run" />}
        <h2>Resolved parameters</h2>
        <JsonView value={e.resolved_params} label="parameters" />
      </section>
    </>
  );
}
