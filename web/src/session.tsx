/**
 * Who is using the UI. On load it asks /auth/whoami: an answer means the
 * stored token is good (or authentication is off); a 401 shows the login
 * form. The token from a login lives in sessionStorage (api.ts), never in a
 * URL or a cookie.
 */
import { createContext, useCallback, useContext, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, del, get, hasToken, onUnauthorized, post, setToken } from './api';
import { ErrorBox, Loading } from './components';
import { disconnectLive } from './live';
import type { WhoAmI } from './types';

const RANK = { viewer: 1, operator: 2, admin: 3 } as const;

/** What the server said in index.html (src/api/web.ts): whether the API wants a token. */
function authRequired(): boolean {
  return document.querySelector('meta[name="attune-auth"]')?.getAttribute('content') !== 'off';
}

interface Session {
  who: WhoAmI;
  /** True when the caller's role is at least `role`. */
  can: (role: keyof typeof RANK) => boolean;
  /** Null when authentication is off (there is nothing to log out of). */
  logout: (() => void) | null;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [who, setWho] = useState<WhoAmI | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const check = useCallback(async () => {
    // With authentication on and no token yet, the login form comes first: no request that can only answer 401.
    if (authRequired() && !hasToken()) {
      setWho(null);
      return;
    }
    try {
      const { data } = await get<{ data: WhoAmI }>('/auth/whoami');
      setWho(data);
      setError(undefined);
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 401) setWho(null);
      else setError(reason);
    }
  }, []);

  useEffect(() => {
    void check();
    return onUnauthorized(() => {
      disconnectLive();
      setWho(null);
    });
  }, [check]);

  // Revokes the login token on the server too, so a copy of it is worthless.
  const logout = useCallback(() => {
    const tokenId = who?.token_id;
    if (typeof tokenId === 'number') void del(`/tokens/${tokenId}`).catch(() => undefined);
    setToken(null);
    disconnectLive();
    setWho(null);
  }, [who]);

  if (error !== undefined) {
    return (
      <main className="center">
        <ErrorBox error={error} title="Attune is not answering" />
        <button type="button" onClick={() => void check()}>
          Try again
        </button>
      </main>
    );
  }
  if (who === undefined) return <Loading what="Starting" />;
  if (who === null) return <Login onDone={check} />;
  const session: Session = {
    who,
    can: (role) => RANK[who.role] >= RANK[role],
    logout: hasToken() ? logout : null,
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

function Login({ onDone }: { onDone: () => Promise<void> }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (login.trim() === '' || password === '') {
      setError(new Error('Enter your login and password.'));
      return;
    }
    setBusy(true);
    try {
      const { data } = await post<{ data: { token: string } }>('/auth/login', { login: login.trim(), password });
      setToken(data.token);
      setPassword('');
      await onDone();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="center login">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">
          <span className="logo" aria-hidden="true">◆</span> Attune
        </h1>
        <div className="field">
          <label htmlFor="login-name">Login</label>
          <input id="login-name" name="login" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input id="login-password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <ErrorBox error={error} title="Cannot log in" />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p className="muted small">`attune up` prints the first admin's password once, at its first start.</p>
      </form>
    </main>
  );
}
