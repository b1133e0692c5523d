/** Actions by pack, and one action's page with its run form generated from the parameter schema. */
import { useState } from 'react';
import { ApiError, get, post, seg, type Page } from '../api';
import { Empty, ErrorBox, Facts, Loading, PageHeader } from '../components';
import { useLoad } from '../hooks';
import { Link, navigate, setSearch, useLocation } from '../router';
import { SchemaForm } from '../schema-form';
import { useSession } from '../session';
import type { Action, Execution, JsonObject } from '../types';

export function ActionsPage() {
  const { search } = useLocation();
  const query = search.get('q') ?? '';
  const { data, error, loading } = useLoad((signal) => get<Page<Action>>('/actions', { limit: 500, search: query }, signal), [query]);
  const byPack = new Map<string, Action[]>();
  for (const action of data?.data ?? []) byPack.set(action.pack_ref, [...(byPack.get(action.pack_ref) ?? []), action]);
  return (
    <>
      <PageHeader title="Actions" />
      <div className="filters">
        <div className="field">
          <label htmlFor="a-search">Search</label>
          <input id="a-search" type="search" placeholder="name, description" defaultValue={query} onChange={(e) => setSearch({ q: e.target.value })} />
        </div>
      </div>
      <ErrorBox error={error} title="Cannot list actions" />
      {data === undefined ? (
        loading && <Loading />
      ) : byPack.size === 0 ? (
        <Empty>{query === '' ? 'No actions: register a pack (attune pack register DIR).' : `No action matches “${query}”.`}</Empty>
      ) : (
        [...byPack.entries()].map(([pack, actions]) => (
          <section key={pack} className="panel" aria-labelledby={`pack-${pack}`}>
            <h2 id={`pack-${pack}`}>
              <Link to={`/packs/${seg(pack)}`}>{pack}</Link>
            </h2>
            <ul className="action-list">
              {actions.map((a) => (
                <li key={a.id}>
                  <Link to={`/actions/${seg(a.ref)}`}>
                    <code>{a.ref}</code>
                  </Link>
                  {!a.enabled && <span className="status status-disabled">disabled</span>}
                  <span className="muted small"> {a.runner_type}</span>
                  {a.description !== null && <div className="muted small">{a.description}</div>}
                </li>
              ))}
            </ul>
          </section>
        ))
      )}
    </>
  );
}

/** Requests an execution: POST /executions, or the action's own execute route where that is the one served. */
async function execute(action: string, parameters: JsonObject): Promise<Execution> {
  try {
    return (await post<{ data: Execution }>('/executions', { action, parameters })).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.field === 'path') {
      return (await post<{ data: Execution }>(`/actions/${seg(action)}/execute`, { parameters })).data;
    }
    throw error;
  }
}

export function ActionPage({ actionRef }: { actionRef: string }) {
  const { can } = useSession();
  const { data, error, loading } = useLoad((signal) => get<{ data: Action }>(`/actions/${seg(actionRef)}`, {}, signal), [actionRef]);
  const [runError, setRunError] = useState<unknown>(undefined);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show action ${actionRef}`} />;
  const a = data.data;
  const run = async (values: JsonObject) => {
    setRunError(undefined);
    try {
      const execution = await execute(a.ref, values);
      navigate(`/executions/${execution.id}`);
    } catch (reason) {
      setRunError(reason);
    }
  };
  return (
    <>
      <PageHeader title={<code>{a.ref}</code>} />
      {a.description !== null && <p className="lead">{a.description}</p>}
      <div className="grid-2">
        <section className="panel" aria-labelledby="run">
          <h2 id="run">Run</h2>
          {!a.enabled ? (
            <p className="muted">This action is disabled{a.disabled_reason === null ? '' : `: ${a.disabled_reason}`}.</p>
          ) : !can('operator') ? (
            <p className="muted">Running actions needs the operator role.</p>
          ) : (
            <>
              <SchemaForm schema={a.param_schema} submitLabel="Run" onSubmit={run} />
              <ErrorBox error={runError} title="Not run" />
            </>
          )}
        </section>
        <section className="panel" aria-labelledby="about">
          <h2 id="about">About</h2>
          <Facts
            items={[
              ['Pack', <Link key="p" to={`/packs/${seg(a.pack_ref)}`}>{a.pack_ref}</Link>],
              ['Runner', a.runner_type],
              ['Time-out', a.timeout_seconds === null ? 'default' : `${a.timeout_seconds} s`],
              ['Tags', a.tags.length === 0 ? '—' : a.tags.join(', ')],
              ['Executions', <Link key="e" to={`/executions?action=${encodeURIComponent(a.ref)}`}>recent runs</Link>],
            ]}
          />
        </section>
      </div>
    </>
  );
}
