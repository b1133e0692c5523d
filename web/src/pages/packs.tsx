/** Packs: the active versions, and a pack's page with every installed version and activation. */
import { useState } from 'react';
import { get, post, seg, type Page } from '../api';
import { Empty, ErrorBox, Facts, Loading, PageHeader, Table, Time } from '../components';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';
import type { Action, Pack } from '../types';

export function PacksPage() {
  const { data, error, loading } = useLoad((signal) => get<Page<Pack>>('/packs', { active: true, limit: 500 }, signal), []);
  return (
    <>
      <PageHeader title="Packs" />
      <ErrorBox error={error} title="Cannot list packs" />
      {data === undefined ? (
        loading && <Loading />
      ) : data.data.length === 0 ? (
        <Empty>No packs: `attune pack register DIR`, or POST /api/v1/packs.</Empty>
      ) : (
        <Table label="Packs" head={['Pack', 'Active version', 'Description', 'Installed']}>
          {data.data.map((p) => (
            <tr key={p.id}>
              <td>
                <Link to={`/packs/${seg(p.ref)}`}>{p.ref}</Link>
                {p.is_system && <span className="muted small"> system</span>}
              </td>
              <td>{p.version}</td>
              <td>{p.description ?? '—'}</td>
              <td>
                <Time value={p.created_at} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

export function PackPage({ packRef }: { packRef: string }) {
  const { can } = useSession();
  const { data, error, loading, reload } = useLoad((signal) => get<{ data: Pack }>(`/packs/${seg(packRef)}`, {}, signal), [packRef]);
  const actions = useLoad((signal) => get<Page<Action>>('/actions', { pack: packRef, limit: 500 }, signal), [packRef, data?.data.version]);
  const [busy, setBusy] = useState<string | null>(null);
  const [activateError, setActivateError] = useState<unknown>(undefined);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show pack ${packRef}`} />;
  const p = data.data;
  const activate = async (version: string) => {
    setBusy(version);
    setActivateError(undefined);
    try {
      await post(`/packs/${seg(p.ref)}/activate`, { version });
      reload();
    } catch (reason) {
      setActivateError(reason);
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <PageHeader title={`${p.name} (${p.ref})`} />
      {p.description !== null && <p className="lead">{p.description}</p>}
      <div className="grid-2">
        <section className="panel" aria-labelledby="versions">
          <h2 id="versions">Versions</h2>
          <ErrorBox error={activateError} title="Not activated" />
          <Table label="Versions" head={['Version', 'Installed', '']}>
            {(p.versions ?? []).map((v) => (
              <tr key={v.version}>
                <td>
                  {v.version} {v.is_active && <span className="status status-succeeded">active</span>}
                </td>
                <td>
                  <Time value={v.created_at} />
                </td>
                <td>
                  {!v.is_active && can('admin') && (
                    <button type="button" className="secondary" disabled={busy !== null} onClick={() => void activate(v.version)}>
                      {busy === v.version ? 'Activating…' : 'Activate'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
          {!can('admin') && <p className="muted small">Activating a version needs the admin role.</p>}
        </section>
        <section className="panel" aria-labelledby="about">
          <h2 id="about">About</h2>
          <Facts
            items={[
              ['Active version', p.version],
              ['Keywords', p.keywords.length === 0 ? '—' : p.keywords.join(', ')],
              ['System pack', p.is_system ? 'yes' : 'no'],
            ]}
          />
        </section>
      </div>
      <section className="panel" aria-labelledby="pack-actions">
        <h2 id="pack-actions">Actions</h2>
        {actions.data === undefined ? (
          <Loading />
        ) : actions.data.data.length === 0 ? (
          <Empty>This version has no actions.</Empty>
        ) : (
          <ul className="action-list">
            {actions.data.data.map((a) => (
              <li key={a.id}>
                <Link to={`/actions/${seg(a.ref)}`}>
                  <code>{a.ref}</code>
                </Link>
                {a.description !== null && <span className="muted small"> {a.description}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
