/** Rules, with enable and disable in place. */
import { useState } from 'react';
import { get, post, seg, type Page } from '../api';
import { Empty, ErrorBox, Loading, PageHeader, Table } from '../components';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';
import type { Rule } from '../types';

/** A switch that enables or disables a rule; `onChanged` gets the rule as the API returns it. */
export function RuleToggle({ rule, onChanged }: { rule: Rule; onChanged: (rule: Rule) => void }) {
  const { can } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onChanged((await post<{ data: Rule }>(`/rules/${seg(rule.ref)}/${rule.enabled ? 'disable' : 'enable'}`)).data);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <label className="switch">
        <input type="checkbox" role="switch" checked={rule.enabled} disabled={busy || !can('operator')} onChange={() => void toggle()} aria-label={`${rule.ref} enabled`} />
        <span>{rule.enabled ? 'enabled' : 'disabled'}</span>
      </label>
      <ErrorBox error={error} title="Not changed" />
    </>
  );
}

export function RulesPage() {
  const { data, error, loading, reload } = useLoad((signal) => get<Page<Rule>>('/rules', { limit: 500 }, signal), []);
  const [changed, setChanged] = useState<Record<number, Rule>>({});
  const rules = (data?.data ?? []).map((r) => changed[r.id] ?? r);
  return (
    <>
      <PageHeader title="Rules">
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={error} title="Cannot list rules" />
      {data === undefined ? (
        loading && <Loading />
      ) : rules.length === 0 ? (
        <Empty>No rules yet: a pack's rules/*.yaml, or POST /api/v1/rules.</Empty>
      ) : (
        <Table label="Rules" head={['Rule', 'Trigger', 'Action', 'Enabled']}>
          {rules.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/rules/${seg(r.ref)}`}>{r.ref}</Link>
                {r.description !== null && <div className="muted small">{r.description}</div>}
              </td>
              <td>
                <code>{r.trigger_ref}</code>
              </td>
              <td>
                <Link to={`/actions/${seg(r.action_ref)}`}>
                  <code>{r.action_ref}</code>
                </Link>
              </td>
              <td>
                <RuleToggle rule={r} onChanged={(next) => setChanged((c) => ({ ...c, [next.id]: next }))} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
