/** Keys: the list with secrets masked, set and delete, and reveal for those the API allows (an admin, or a key's owner). */
import { useState, type FormEvent } from 'react';
import { ApiError, del, get, put, seg, type Page } from '../api';
import { Empty, ErrorBox, Loading, PageHeader, Table, Time } from '../components';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Json, Key } from '../types';

export function KeysPage() {
  const { can } = useSession();
  const { data, error, loading, reload } = useLoad((signal) => get<Page<Key>>('/keys', { limit: 500 }, signal), []);
  const [revealed, setRevealed] = useState<Record<string, Json>>({});
  const [rowError, setRowError] = useState<unknown>(undefined);

  const reveal = async (key: Key) => {
    setRowError(undefined);
    try {
      const { data: shown } = await get<{ data: Key }>(`/keys/${seg(key.ref)}`, { decrypt: true });
      setRevealed((r) => ({ ...r, [key.ref]: shown.value }));
    } catch (reason) {
      setRowError(reason instanceof ApiError && reason.status === 403 ? new Error(`You may not read ${key.ref}: only an admin or the key’s owner can.`) : reason);
    }
  };
  const remove = async (key: Key) => {
    if (!window.confirm(`Delete key ${key.ref}?`)) return;
    setRowError(undefined);
    try {
      await del(`/keys/${seg(key.ref)}`);
      reload();
    } catch (reason) {
      setRowError(reason);
    }
  };

  return (
    <>
      <PageHeader title="Keys" />
      {can('operator') && <SetKey onSet={reload} />}
      <ErrorBox error={error} title="Cannot list keys" />
      <ErrorBox error={rowError} title="Not done" />
      {data === undefined ? (
        loading && <Loading />
      ) : data.data.length === 0 ? (
        <Empty>No keys yet. Rules and actions read them as {'{{ st2kv.system.name }}'}.</Empty>
      ) : (
        <Table label="Keys" head={['Key', 'Value', 'Expires', '']}>
          {data.data.map((k) => (
            <tr key={k.id}>
              <td>
                <code>{k.ref}</code>
                {k.secret && <span className="status status-secret">secret</span>}
                {k.description !== null && <div className="muted small">{k.description}</div>}
              </td>
              <td className="clip">
                <code>{k.ref in revealed ? JSON.stringify(revealed[k.ref]) : k.secret ? '********' : JSON.stringify(k.value)}</code>
              </td>
              <td>
                <Time value={k.expires_at} />
              </td>
              <td className="row-actions">
                {k.secret && !(k.ref in revealed) && (can('admin') || k.owner_type === 'identity') && (
                  <button type="button" className="secondary" onClick={() => void reveal(k)}>
                    Reveal
                  </button>
                )}
                {can('operator') && (
                  <button type="button" className="danger" onClick={() => void remove(k)} aria-label={`Delete ${k.ref}`}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

function SetKey({ onSet }: { onSet: () => void }) {
  const [ref, setRef] = useState('system.');
  const [value, setValue] = useState('');
  const [secret, setSecret] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^(system|pack|identity|action)\..+/.test(ref.trim())) return setFieldError('The key is system.<name>, pack.<pack>.<name>, identity.<login>.<name> or action.<action>.<name>.');
    setFieldError(undefined);
    setError(undefined);
    // A value that reads as JSON is stored as that JSON (a number, a list); anything else as text.
    let parsed: Json = value;
    try {
      parsed = JSON.parse(value) as Json;
    } catch {
      parsed = value;
    }
    try {
      await put(`/keys/${seg(ref.trim())}`, { value: parsed, secret });
      setValue('');
      onSet();
    } catch (reason) {
      setError(reason);
    }
  };
  return (
    <form className="filters panel" onSubmit={(e) => void submit(e)} aria-label="Set a key" noValidate>
      <div className="field">
        <label htmlFor="k-ref">Key</label>
        <input id="k-ref" value={ref} onChange={(e) => setRef(e.target.value)} aria-invalid={fieldError !== undefined} aria-describedby={fieldError ? 'k-ref-error' : undefined} />
      </div>
      <div className="field">
        <label htmlFor="k-value">Value</label>
        <input id="k-value" type={secret ? 'password' : 'text'} autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} />
      </div>
      <label className="inline">
        <input type="checkbox" checked={secret} onChange={(e) => setSecret(e.target.checked)} /> secret (stored encrypted)
      </label>
      <button type="submit">Set</button>
      {fieldError !== undefined && (
        <p id="k-ref-error" className="field-error" role="alert">
          {fieldError}
        </p>
      )}
      <ErrorBox error={error} title="Not set" />
    </form>
  );
}
