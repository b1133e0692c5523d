/**
 * One execution: status and timing, parameters (secrets masked by the API),
 * result, live output, and its chain event → rule / enforcement → execution
 * → children, each a link. Cancel and re-run.
 */
import { useEffect, useRef, useState } from 'react';
import { apiUrl, get, post, seg } from '../api';
import { readSse } from '../live';
import { Empty, ErrorBox, Facts, JsonView, Loading, PageHeader, Status, Time, duration } from '../components';
import { useLiveRefresh, useLoad } from '../hooks';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { FINAL_STATUSES, type Enforcement, type Execution } from '../types';

interface OutputChunk {
  seq?: number;
  attempt?: number;
  stream?: string;
  data?: string;
}

interface Chain {
  execution: Execution;
  enforcement: Enforcement | null;
  children: Execution[];
}

async function loadChain(id: number, signal: AbortSignal): Promise<Chain> {
  const { data: execution } = await get<{ data: Execution }>(`/executions/${id}`, {}, signal);
  const [enforcement, children] = await Promise.all([
    execution.enforcement_id === null ? null : get<{ data: Enforcement }>(`/enforcements/${execution.enforcement_id}`, {}, signal).then((r) => r.data, () => null),
    get<{ data: Execution[] }>(`/executions/${id}/children`, {}, signal).then((r) => r.data, () => []),
  ]);
  return { execution, enforcement, children };
}

/** Whether a live event concerns execution `id` (its own row, its output, or a child). */
function concerns(data: unknown, id: number): boolean {
  if (data === null || typeof data !== 'object') return false;
  const d = data as Record<string, unknown>;
  const content = (typeof d.content === 'object' && d.content !== null ? d.content : {}) as Record<string, unknown>;
  return [d.entity_id, content.execution_id, content.parent_id].some((v) => Number(v) === id);
}

export function ExecutionPage({ id }: { id: number }) {
  const { can } = useSession();
  const { data, error, loading, reload } = useLoad((signal) => loadChain(id, signal), [id]);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const running = data !== undefined && !FINAL_STATUSES.has(data.execution.status);
  useLiveRefresh(reload, (event) => concerns(event.data, id), 300);
  // While it runs, a slow safety net under the live stream.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [running, reload]);

  if (data === undefined) return loading ? <Loading /> : <ErrorBox error={error} title={`Cannot show execution #${id}`} />;
  const { execution: e, enforcement, children } = data;

  const act = async (what: 'cancel' | 're-run') => {
    setBusy(true);
    setActionError(undefined);
    try {
      const response = await post<{ data: Execution }>(`/executions/${e.id}/${what}`, {});
      if (what === 're-run') navigate(`/executions/${response.data.id}`);
      else reload();
    } catch (reason) {
      setActionError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader
        title={
          <>
            Execution #{e.id} <Status status={e.status} />
          </>
        }
      >
        {can('operator') && (
          <>
            <button type="button" className="danger" disabled={busy || !running} onClick={() => void act('cancel')}>
              Cancel
            </button>
            <button type="button" disabled={busy} onClick={() => void act('re-run')}>
              Re-run
            </button>
          </>
        )}
      </PageHeader>
      <ErrorBox error={actionError} title="The request failed" />
      <ErrorBox error={error} title="Could not refresh" />
      <nav className="chain" aria-label="Chain">
        <ol>
          {enforcement !== null && enforcement.event_id !== null && (
            <li>
              <span className="muted">event</span> <Link to={`/events/${enforcement.event_id}`}>#{enforcement.event_id}</Link> <code>{enforcement.trigger_ref}</code>
            </li>
          )}
          {enforcement !== null && (
            <li>
              <span className="muted">rule</span> <Link to={`/rules/${seg(enforcement.rule_ref)}`}>{enforcement.rule_ref}</Link> <span className="muted">/ enforcement</span>{' '}
              <Link to={`/enforcements/${enforcement.id}`}>#{enforcement.id}</Link>
            </li>
          )}
          {e.parent_id !== null && (
            <li>
              <span className="muted">parent</span> <Link to={`/executions/${e.parent_id}`}>#{e.parent_id}</Link>
            </li>
          )}
          <li aria-current="page">
            <span className="muted">execution</span> <strong>#{e.id}</strong> <Link to={`/actions/${seg(e.action_ref)}`}>{e.action_ref}</Link>
          </li>
          {children.length > 0 && (
            <li>
              <span className="muted">children</span>{' '}
              {children.map((c) => (
                <span key={c.id} className="child">
                  <Link to={`/executions/${c.id}`}>#{c.id}</Link> <Status status={c.status} />{' '}
                </span>
              ))}
            </li>
          )}
          {enforcement === null && e.parent_id === null && (
            <li className="muted">requested by hand (no rule)</li>
          )}
        </ol>
      </nav>
      <div className="grid-2">
        <section className="panel" aria-labelledby="timing">
          <h2 id="timing">Timing</h2>
          <Facts
            items={[
              ['Created', <Time key="c" value={e.created_at} />],
              ['Started', <Time key="s" value={e.started_at} />],
              ['Finished', <Time key="f" value={e.finished_at} />],
              ['Took', duration(e.started_at, e.finished_at)],
              ['Attempt', `${e.attempt} of ${e.max_attempts}`],
              ['Time-out', e.timeout_seconds === null ? 'none' : `${e.timeout_seconds} s`],
            ]}
          />
        </section>
        <section className="panel" aria-labelledby="params">
          <h2 id="params">Parameters</h2>
          <JsonView value={e.params} label="parameters" />
        </section>
      </div>
      <Output id={e.id} running={running} />
      <section className="panel" aria-labelledby="result">
        <h2 id="result">Result</h2>
        {e.error !== null && <ErrorBox error={new Error(e.error)} title="Error" />}
        {running ? <p className="muted">Not finished yet.</p> : <JsonView value={e.result} label="result" />}
      </section>
    </>
  );
}

/**
 * The execution's stdout and stderr: read once when it has finished, and
 * followed live (GET /executions/:id/output?follow=true, Server-Sent Events)
 * while it runs, resuming after the last chunk when the connection drops.
 */
function Output({ id, running }: { id: number; running: boolean }) {
  const [chunks, setChunks] = useState<OutputChunk[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const controller = new AbortController();
    let last: string | undefined;
    const seen = new Set<string>();
    const add = (list: OutputChunk[]) => {
      const fresh = list.filter((c) => {
        const key = `${c.attempt ?? 0}:${c.seq ?? 0}`;
        if (seen.has(key)) return false;
        seen.add(key);
        last = key;
        return true;
      });
      if (fresh.length > 0) setChunks((current) => [...current, ...fresh]);
    };
    const readAll = async () => {
      let cursor: string | null | undefined;
      do {
        const page = await get<{ data: OutputChunk[]; next_cursor: string | null }>(`/executions/${id}/output`, { cursor }, controller.signal);
        add(page.data);
        cursor = page.next_cursor;
      } while (cursor !== null && cursor !== undefined);
    };
    const follow = async () => {
      for (let tries = 0; tries < 30 && !controller.signal.aborted; tries++) {
        let ended = false;
        try {
          await readSse(
            apiUrl(`/executions/${id}/output`, { follow: true }),
            (event) => {
              if (event.type === 'output') add([event.data as OutputChunk]);
              if (event.type === 'end') ended = true;
            },
            controller.signal,
            last === undefined ? {} : { 'last-event-id': last },
          );
          if (ended) return;
        } catch (reason) {
          if (controller.signal.aborted) return;
          // A server without the follow route: read the pages while the run goes on.
          if (tries === 0) await readAll();
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    setChunks([]);
    setError(undefined);
    (running ? follow() : readAll()).catch((reason: unknown) => {
      if (!controller.signal.aborted) setError(reason);
    });
    return () => controller.abort();
  }, [id, running]);
  useEffect(() => {
    if (pre.current !== null) pre.current.scrollTop = pre.current.scrollHeight;
  }, [chunks]);
  return (
    <section className="panel" aria-labelledby="output">
      <h2 id="output">Output {running && <span className="muted small">(live)</span>}</h2>
      {error !== undefined ? (
        <ErrorBox error={error} title="Cannot read the output" />
      ) : chunks.length === 0 ? (
        <Empty>{running ? 'No output yet…' : 'No output.'}</Empty>
      ) : (
        <pre className="output" ref={pre} aria-live="polite" data-testid="output">
          {chunks.map((chunk, i) => (
            <span key={`${chunk.attempt ?? 0}-${chunk.seq ?? i}`} className={chunk.stream === 'stderr' ? 'stderr' : undefined}>
              {chunk.data ?? ''}
            </span>
          ))}
        </pre>
      )}
    </section>
  );
}
