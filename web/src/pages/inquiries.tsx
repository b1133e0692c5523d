/** Inquiries: pending ones first (soonest time-out first), then answered ones; a response form from each one's schema. */
import { useState } from 'react';
import { get, post, type Page } from '../api';
import { Empty, ErrorBox, Facts, JsonView, Loading, PageHeader, Status, Table, Time } from '../components';
import { useLiveRefresh, useLoad } from '../hooks';
import { eventEntity } from '../live';
import { Link } from '../router';
import { SchemaForm } from '../schema-form';
import { useSession } from '../session';
import type { Inquiry, JsonObject } from '../types';

export function InquiriesPage() {
  const pending = useLoad((signal) => get<Page<Inquiry>>('/inquiries', { limit: 100 }, signal), []);
  const done = useLoad((signal) => get<Page<Inquiry>>('/inquiries', { status: ['responded', 'timeout', 'canceled'], limit: 20 }, signal), []);
  useLiveRefresh(() => {
    pending.reload();
    done.reload();
  }, (event) => eventEntity(event).startsWith('inquir'));
  return (
    <>
      <PageHeader title="Inquiries" />
      <section className="panel" aria-labelledby="pending">
        <h2 id="pending">Waiting for an answer</h2>
        <ErrorBox error={pending.error} />
        {pending.data === undefined ? (
          <Loading />
        ) : pending.data.data.length === 0 ? (
          <Empty>No inquiry is waiting. A workflow or rule running core.ask asks here.</Empty>
        ) : (
          <InquiryRows rows={pending.data.data} />
        )}
      </section>
      <section className="panel" aria-labelledby="answered">
        <h2 id="answered">Recently closed</h2>
        {done.data === undefined ? <Loading /> : done.data.data.length === 0 ? <Empty>None yet.</Empty> : <InquiryRows rows={done.data.data} />}
      </section>
    </>
  );
}

function InquiryRows({ rows }: { rows: Inquiry[] }) {
  return (
    <Table label="Inquiries" head={['#', 'Prompt', 'Status', 'Execution', 'Times out']}>
      {rows.map((q) => (
        <tr key={q.id}>
          <td>
            <Link to={`/inquiries/${q.id}`}>#{q.id}</Link>
          </td>
          <td>
            <Link to={`/inquiries/${q.id}`}>{q.prompt || '(no prompt)'}</Link>
          </td>
          <td>
            <Status status={q.status} />
          </td>
          <td>
            <Link to={`/executions/${q.execution_id}`}>#{q.execution_id}</Link>
          </td>
          <td>
            <Time value={q.timeout_at} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function InquiryPage({ id }: { id: number }) {
  const { can } = useSession();
  const { data, error, loading, reload } = useLoad((signal) => get<{ data: Inquiry }>(`/inquiries/${id}`, {}, signal), [id]);
  const [sendError, setSendError] = useState<unknown>(undefined);
  useLiveRefresh(reload, (event) => eventEntity(event).startsWith('inquir'));
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show inquiry #${id}`} />;
  const q = data.data;
  const respond = async (response: JsonObject) => {
    setSendError(undefined);
    try {
      await post(`/inquiries/${q.id}/respond`, { response });
      reload();
    } catch (reason) {
      setSendError(reason);
    }
  };
  return (
    <>
      <PageHeader
        title={
          <>
            Inquiry #{q.id} <Status status={q.status} />
          </>
        }
      />
      {q.response_schema.title !== undefined && <p className="lead">{q.response_schema.title}</p>}
      <p className={q.response_schema.title === undefined ? 'lead' : 'muted'}>{q.prompt}</p>
      <div className="grid-2">
        <section className="panel" aria-labelledby="respond">
          <h2 id="respond">Response</h2>
          {q.status !== 'pending' ? (
            <>
              <p className="muted">
                {q.status === 'responded' ? 'Answered' : `Closed (${q.status})`} <Time value={q.responded_at ?? q.timeout_at} />.
              </p>
              <JsonView value={q.response} label="response" />
            </>
          ) : !can('operator') ? (
            <p className="muted">Answering needs the operator role.</p>
          ) : (
            <>
              <SchemaForm schema={q.response_schema} submitLabel="Send response" onSubmit={respond} noFields={<p className="muted">This inquiry asks for no fields: sending answers it.</p>} />
              <ErrorBox error={sendError} title="Not answered" />
            </>
          )}
        </section>
        <section className="panel" aria-labelledby="about">
          <h2 id="about">About</h2>
          <Facts
            items={[
              ['Execution', <Link key="e" to={`/executions/${q.execution_id}`}>#{q.execution_id}</Link>],
              ['Asked', <Time key="a" value={q.created_at} />],
              ['Times out', <Time key="t" value={q.timeout_at} />],
            ]}
          />
        </section>
      </div>
    </>
  );
}
