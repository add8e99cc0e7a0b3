/** Example query shown on the landing page and printed by the demo. */
export const EXAMPLE_QUERY = `{
  cohort(filter: { modality: ["MR"] }) {
    counts { patients studies series instances }
    studies(first: 5) { nodes { studyInstanceUID studyDate modalities instanceCount } }
    facets { modality { value count } }
  }
}`;

/**
 * A self-contained page (no CDN) to try queries from a browser. Every
 * query needs a credential: a pasted API token, sent as a bearer token and
 * kept in this tab's sessionStorage only (never the URL, never
 * localStorage), or the portal's session cookie when the browser has one.
 */
export function landingPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lpacs GraphQL</title>
<style>body{font:14px system-ui;margin:2rem;max-width:60rem}textarea,pre,input{width:100%;font:13px monospace}textarea{height:14rem}pre{background:#f4f4f4;padding:1rem;min-height:8rem}label{display:block;margin-top:1rem;font-weight:600}</style>
</head><body>
<h1>lpacs GraphQL API</h1>
<p>POST queries to <code>/graphql</code> as JSON, with a token or a session. Try one here.</p>
<form id="f" autocomplete="off">
<label for="token">API token</label>
<input id="token" type="password" spellcheck="false" placeholder="the token lpacs demo printed, or one from: npx lpacs tokens create USER">
<p>Sent as <code>Authorization: Bearer &lt;token&gt;</code>; kept only in this tab (sessionStorage), never in the address.</p>
<details id="signin"><summary>or sign in with a user name and password</summary>
<label for="name">User name</label><input id="name" autocomplete="username">
<label for="password">Password</label><input id="password" type="password" autocomplete="current-password">
<button id="sign" type="button">Sign in</button> <span id="who" aria-live="polite"></span>
</details>
<label for="q">Query</label>
<textarea id="q">${EXAMPLE_QUERY}</textarea>
<button id="run" type="submit">Run</button>
</form>
<pre id="out" aria-live="polite"></pre>
<script>
const token = document.getElementById('token');
token.value = sessionStorage.getItem('lpacs-token') || '';
token.addEventListener('input', () => {
  const t = token.value.trim();
  if (t) sessionStorage.setItem('lpacs-token', t);
  else sessionStorage.removeItem('lpacs-token');
});
document.getElementById('sign').addEventListener('click', async () => {
  const who = document.getElementById('who');
  const res = await fetch('/auth/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: document.getElementById('name').value, password: document.getElementById('password').value }) });
  document.getElementById('password').value = '';
  who.textContent = res.ok ? 'signed in (a session cookie; queries without a token use it)' : 'sign-in refused (HTTP ' + res.status + ')';
});
document.getElementById('f').addEventListener('submit', async (event) => {
  event.preventDefault();
  const out = document.getElementById('out');
  const headers = { 'content-type': 'application/json' };
  const t = token.value.trim();
  if (t) headers.authorization = 'Bearer ' + t;
  try {
    const res = await fetch('/graphql', { method: 'POST', headers, credentials: 'same-origin',
      body: JSON.stringify({ query: document.getElementById('q').value }) });
    const text = await res.text();
    let shown = text;
    let unauthenticated = res.status === 401;
    try {
      const body = JSON.parse(text);
      shown = JSON.stringify(body, null, 2);
      unauthenticated ||= (body.errors || []).some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED');
    } catch {}
    out.textContent = (unauthenticated ? 'Not signed in: paste an API token above (npx lpacs tokens create USER)\\n' : '') + shown;
  } catch (err) {
    out.textContent = String(err);
  }
});
</script></body></html>`;
}
