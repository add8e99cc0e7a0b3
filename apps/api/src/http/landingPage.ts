/** Example query shown on the landing page and printed by the demo. */
export const EXAMPLE_QUERY = `{
  cohort(filter: { modality: ["MR"] }) {
    counts { patients studies series instances }
    studies(first: 5) { nodes { studyInstanceUID studyDate modalities instanceCount } }
    facets { modality { value count } }
  }
}`;

/** A self-contained page (no CDN) to try queries from a browser. */
export function landingPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lpacs GraphQL</title>
<style>body{font:14px system-ui;margin:2rem;max-width:60rem}textarea,pre{width:100%;font:13px monospace}textarea{height:14rem}pre{background:#f4f4f4;padding:1rem;min-height:8rem}</style>
</head><body>
<h1>lpacs GraphQL API</h1>
<p>POST queries to <code>/graphql</code> as JSON. Try one here:</p>
<label for="q">Query</label>
<textarea id="q">${EXAMPLE_QUERY}</textarea>
<button id="run">Run</button>
<pre id="out" aria-live="polite"></pre>
<script>
document.getElementById('run').onclick = async () => {
  const res = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: document.getElementById('q').value }) });
  document.getElementById('out').textContent = JSON.stringify(await res.json(), null, 2);
};
</script></body></html>`;
}
