// The single page `serve` returns at /: a textarea, example buttons, a probability bar and
// the review's words highlighted by their contribution. Plain HTML + CSS + a little
// JavaScript calling /api/predict; nothing is fetched from elsewhere.
#pragma once

namespace imdb {

inline constexpr const char* index_page = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnlite · IMDB sentiment</title>
<style>
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
  main { max-width: 820px; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .2rem; }
  p.sub { color: #5b6475; margin-top: 0; }
  textarea { width: 100%; box-sizing: border-box; min-height: 9rem; padding: .8rem; font: inherit; border: 1px solid #c9ced8; border-radius: 8px; }
  .row { display: flex; gap: .5rem; flex-wrap: wrap; margin: .7rem 0; }
  button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid #c9ced8; background: #fff; cursor: pointer; }
  button.primary { background: #2456d6; color: #fff; border-color: #2456d6; }
  #result { margin-top: 1.2rem; background: #fff; border-radius: 10px; padding: 1rem 1.2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); display: none; }
  #label { font-size: 1.3rem; font-weight: 600; }
  #label.positive { color: #1f7a3f; }
  #label.negative { color: #b42318; }
  button:disabled { opacity: .6; cursor: progress; }
  .bar { height: 14px; border-radius: 7px; background: #f3d2d2; overflow: hidden; margin: .5rem 0 1rem; }
  .bar > div { height: 100%; background: #3aa55d; }
  #words span { padding: 1px 2px; border-radius: 3px; }
  #error { color: #b42318; margin-top: .8rem; }
  .legend { color: #5b6475; font-size: .85rem; }
</style>
</head>
<body>
<main>
  <h1>Is this review positive or negative?</h1>
  <p class="sub">An LSTM sentiment classifier trained with <b>nnlite</b> on IMDB movie reviews. Words are shaded by how much they pushed the decision.</p>
  <textarea id="text" placeholder="Type or paste a movie review…"></textarea>
  <div class="row">
    <button class="primary" id="go">Classify</button>
    <button class="example" data-text="One of the best films I have seen in years. The acting is superb and the story kept me hooked until the very end.">Example: glowing</button>
    <button class="example" data-text="A complete waste of time. The plot makes no sense, the dialogue is awful and I couldn't wait for it to end.">Example: scathing</button>
    <button class="example" data-text="The first half drags and the lead is wooden, but the final act is surprisingly moving and beautifully shot.">Example: mixed</button>
  </div>
  <div id="error"></div>
  <div id="result">
    <div id="label"></div>
    <div class="bar"><div id="bar"></div></div>
    <div id="words"></div>
    <p class="legend">green: pushed towards positive · red: pushed towards negative</p>
  </div>
</main>
<script>
const $ = id => document.getElementById(id);
function shade(c, scale) {
  const r = scale > 0 ? Math.max(-1, Math.min(1, c / scale)) : 0;
  return r >= 0 ? `rgba(58,165,93,${(0.75 * r).toFixed(3)})` : `rgba(214,69,69,${(-0.75 * r).toFixed(3)})`;
}
async function classify() {
  $('error').textContent = '';
  const text = $('text').value;
  if (!text.trim()) {
    $('error').textContent = 'Type or paste a review first.';
    $('result').style.display = 'none';
    return;
  }
  $('go').disabled = true;
  try {
    const res = await fetch('/api/predict', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({text})});
    const body = await res.json();
    if (!res.ok) { $('error').textContent = body.error || res.statusText; $('result').style.display = 'none'; return; }
    const r = body.results[0];
    const p = r.probability_positive;
    $('label').textContent = `${r.label} · ${(100 * (r.label === 'positive' ? p : 1 - p)).toFixed(1)}% confident`;
    $('label').className = r.label;
    $('bar').style.width = `${(100 * p).toFixed(1)}%`;
    const words = $('words');
    words.textContent = '';
    const scale = Math.max(1e-9, ...r.tokens.map(t => Math.abs(t.contribution)));
    for (const t of r.tokens) {
      const s = document.createElement('span');
      s.textContent = t.token;
      s.title = t.contribution.toFixed(4);
      s.style.background = shade(t.contribution, scale);
      words.appendChild(s);
      words.appendChild(document.createTextNode(' '));
    }
    $('result').style.display = 'block';
  } catch (e) { $('error').textContent = String(e); }
  finally { $('go').disabled = false; }
}
$('go').addEventListener('click', classify);
for (const b of document.querySelectorAll('button.example'))
  b.addEventListener('click', () => { $('text').value = b.dataset.text; classify(); });
$('text').addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) classify(); });
// Shareable links: /?text=... classifies that review on load.
const shared = new URLSearchParams(location.search).get('text');
if (shared) { $('text').value = shared; classify(); }
</script>
</body>
</html>
)HTML";

}  // namespace imdb
