/**
 * One rule: criteria and parameters, its recent enforcements, and "test
 * against an event": a stored event or a pasted payload, each criterion's
 * verdict and the parameters the action would get (nothing is written).
 */
import { useState, type FormEvent } from 'react';
import { get, post, seg, type Page } from '../api';
import { Empty, ErrorBox, Facts, JsonView, Loading, PageHeader, Status, Table, Time } from '../components';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';
import type { AttuneEvent, Enforcement, Json, JsonObject, Rule } from '../types';
import { RuleToggle } from './rules';

interface CriterionResult {
  key: string;
  operator: string;
  pattern: Json;
  value: Json;
  matched: boolean;
  error?: string;
}

interface RuleTest {
  rule: string;
  enabled: boolean;
  event_id: number | null;
  trigger_params_matched: boolean;
  matched: boolean;
  criteria: CriterionResult[];
  action: string;
  params?: JsonObject;
  error?: string;
  enforcement_status?: string;
}

export function RulePage({ ruleRef }: { ruleRef: string }) {
  const { data, error, loading } = useLoad((signal) => get<{ data: Rule }>(`/rules/${seg(ruleRef)}`, {}, signal), [ruleRef]);
  const [rule, setRule] = useState<Rule | undefined>(undefined);
  const enforcements = useLoad((signal) => get<Page<Enforcement>>('/enforcements', { rule: ruleRef, limit: 10 }, signal), [ruleRef]);
  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show rule ${ruleRef}`} />;
  const r = rule?.id === data.data.id ? rule : data.data;
  return (
    <>
      <PageHeader title={r.ref}>
        <RuleToggle rule={r} onChanged={setRule} />
      </PageHeader>
      {r.description !== null && <p className="lead">{r.description}</p>}
      <div className="grid-2">
        <section className="panel" aria-labelledby="when">
          <h2 id="when">When</h2>
          <Facts items={[['Trigger', <code key="t">{r.trigger_ref}</code>]]} />
          <h3>Trigger parameters</h3>
          <JsonView value={r.trigger_params} label="trigger parameters" />
          <h3>Criteria</h3>
          <JsonView value={r.criteria} label="criteria: every event of the trigger matches" />
        </section>
        <section className="panel" aria-labelledby="then">
          <h2 id="then">Then</h2>
          <Facts items={[['Action', <Link key="a" to={`/actions/${seg(r.action_ref)}`}><code>{r.action_ref}</code></Link>]]} />
          <h3>Action parameters</h3>
          <JsonView value={r.action_params} label="action parameters" />
        </section>
      </div>
      <RuleTester rule={r} />
      <section className="panel" aria-labelledby="enforcements">
        <h2 id="enforcements">Recent enforcements</h2>
        <ErrorBox error={enforcements.error} />
        {enforcements.data === undefined ? (
          <Loading />
        ) : enforcements.data.data.length === 0 ? (
          <Empty>This rule has not matched an event yet.</Empty>
        ) : (
          <Table label="Recent enforcements" head={['#', 'Event', 'Status', 'When']}>
            {enforcements.data.data.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={`/enforcements/${e.id}`}>#{e.id}</Link>
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
        )}
      </section>
    </>
  );
}

function RuleTester({ rule }: { rule: Rule }) {
  const { can } = useSession();
  const events = useLoad((signal) => get<Page<AttuneEvent>>('/events', { trigger: rule.trigger_ref, limit: 20 }, signal), [rule.trigger_ref]);
  const [source, setSource] = useState<'event' | 'payload'>('event');
  const [eventId, setEventId] = useState('');
  const [payload, setPayload] = useState('{\n  \n}');
  const [fieldError, setFieldError] = useState<string | undefined>(undefined);
  const [result, setResult] = useState<RuleTest | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const chosenEvent = eventId !== '' ? eventId : String(events.data?.data[0]?.id ?? '');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFieldError(undefined);
    let body: { event_id: number } | { payload: JsonObject };
    if (source === 'event') {
      if (chosenEvent === '') return setFieldError('Pick an event, or paste a payload instead.');
      body = { event_id: Number(chosenEvent) };
    } else {
      try {
        const parsed = JSON.parse(payload) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return setFieldError('The payload must be a JSON object.');
        body = { payload: parsed as JsonObject };
      } catch (reason) {
        return setFieldError(`The payload is not JSON: ${(reason as Error).message}`);
      }
    }
    setBusy(true);
    setError(undefined);
    try {
      setResult((await post<{ data: RuleTest }>(`/rules/${seg(rule.ref)}/test`, body)).data);
    } catch (reason) {
      setResult(undefined);
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="test">
      <h2 id="test">Test against an event</h2>
      {!can('operator') ? (
        <p className="muted">Testing rules needs the operator role.</p>
      ) : (
        <form onSubmit={(e) => void submit(e)} className="rule-test" noValidate>
          <fieldset>
            <legend>Test with</legend>
            <label className="inline">
              <input type="radio" name="source" value="event" checked={source === 'event'} onChange={() => setSource('event')} /> a stored event
            </label>
            <label className="inline">
              <input type="radio" name="source" value="payload" checked={source === 'payload'} onChange={() => setSource('payload')} /> a payload
            </label>
          </fieldset>
          {source === 'event' ? (
            <div className="field">
              <label htmlFor="test-event">Event of {rule.trigger_ref}</label>
              {events.data !== undefined && events.data.data.length === 0 ? (
                <p className="muted">No stored event of this trigger yet: paste a payload instead.</p>
              ) : (
                <select id="test-event" value={chosenEvent} onChange={(e) => setEventId(e.target.value)} aria-describedby={fieldError ? 'test-error' : undefined}>
                  {(events.data?.data ?? []).map((ev) => (
                    <option key={ev.id} value={ev.id}>
                      #{ev.id} · {new Date(ev.created_at).toISOString().slice(0, 19).replace('T', ' ')} · {JSON.stringify(ev.payload).slice(0, 60)}
                    </option>
                  ))}
                </select>
              )}
            </div>
          ) : (
            <div className="field">
              <label htmlFor="test-payload">Payload (JSON)</label>
              <textarea id="test-payload" rows={6} spellCheck={false} value={payload} onChange={(e) => setPayload(e.target.value)} aria-invalid={fieldError !== undefined} aria-describedby={fieldError ? 'test-error' : undefined} />
            </div>
          )}
          {fieldError !== undefined && (
            <p id="test-error" className="field-error" role="alert">
              {fieldError}
            </p>
          )}
          <button type="submit" disabled={busy}>
            {busy ? 'Testing…' : 'Test'}
          </button>
        </form>
      )}
      <ErrorBox error={error} title="Cannot test" />
      {result !== undefined && <RuleTestResult result={result} />}
    </section>
  );
}

function RuleTestResult({ result }: { result: RuleTest }) {
  return (
    <div className="test-result" data-testid="rule-test-result">
      <p className={`verdict ${result.matched ? 'ok' : 'no'}`} role="status">
        {result.matched ? 'The rule matches: ' : 'The rule does not match'}
        {result.matched && (result.enforcement_status === 'processed' ? `it would run ${result.action}.` : `the enforcement would be ${result.enforcement_status ?? 'written'}.`)}
        {!result.trigger_params_matched && ': the trigger parameters differ from the event’s.'}
        {!result.enabled && ' (The rule is disabled: the engine would skip it.)'}
      </p>
      {result.criteria.length > 0 && (
        <Table label="Criteria verdicts" head={['Key', 'Operator', 'Pattern', 'Value found', 'Verdict']}>
          {result.criteria.map((c, i) => (
            <tr key={`${c.key}-${i}`} className={c.matched ? 'row-ok' : 'row-no'}>
              <td>
                <code>{c.key}</code>
              </td>
              <td>{c.operator}</td>
              <td>
                <code>{JSON.stringify(c.pattern)}</code>
              </td>
              <td>
                <code>{JSON.stringify(c.value)}</code>
              </td>
              <td>
                {c.matched ? '✔ matched' : '✘ not matched'}
                {c.error !== undefined && <div className="muted small">{c.error}</div>}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {result.error !== undefined && <ErrorBox error={new Error(result.error)} title="The action could not be requested" />}
      {result.params !== undefined && (
        <>
          <h3>Parameters {result.action} would get</h3>
          <JsonView value={result.params} label="rendered parameters" />
        </>
      )}
    </div>
  );
}
