#!/usr/bin/env bash
# The served page in a real browser: headless Chromium loads /?text=<review> (the page's
# shareable-link feature classifies that review on load, through the same code as the
# Classify button), and the rendered DOM must show the label, the confidence, the
# probability bar and every word shaded by its contribution. Also saves a screenshot
# ($WORK/page.png) to look at.
#
# Opt-in: Chromium is a large install, so this runs only with NNLITE_BROWSER_TESTS=1
# (scripts/install-deps.sh then installs the `chromium` package); otherwise it is skipped.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ ${NNLITE_BROWSER_TESTS:-0} == 1 ]] || skip "browser test is opt-in: set NNLITE_BROWSER_TESTS=1 (needs chromium)"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $browser ]] || fail "NNLITE_BROWSER_TESTS=1 but no chromium found (apt-get install chromium)"
command -v curl >/dev/null || fail "curl is not installed"
[[ -s $SYNTH_RUN/model.safetensors ]] || fail "no synthetic model at $SYNTH_RUN (run the imdb_cli_synthetic test first)"
lifetime=120
start_server "$SYNTH_RUN"

profile=$(mktemp -d "$WORK/profile.XXXXXX")
chrome() {
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
        --user-data-dir="$profile" --virtual-time-budget=10000 "$@" 2>>"$WORK/chromium.log"
}
review="a superb and brilliant film, I loved it"
url="$base/?text=$(printf '%s' "$review" | sed 's/ /%20/g; s/,/%2C/g')"

chrome --dump-dom "$url" >"$WORK/dom.html" || fail "chromium --dump-dom failed: $(tail -n 5 "$WORK/chromium.log")"
grep -q 'id="result"' "$WORK/dom.html" || fail "the dumped DOM is not the page"
label=$(sed -n 's/.*<div id="label" class="positive">\([^<]*\)<\/div>.*/\1/p' "$WORK/dom.html")
[[ $label =~ ^positive\ ·\ [0-9]+\.[0-9]%\ confident$ ]] || fail "shown label is '$label' (error: $(sed -n 's/.*<div id="error">\([^<]*\)<.*/\1/p' "$WORK/dom.html"))"
grep -q 'id="result" style="display: block;"' "$WORK/dom.html" || fail "the result box is not shown"
grep -q 'id="bar" style="width: [0-9.]*%;"' "$WORK/dom.html" || fail "the probability bar has no width"
# the same probability as the API
p=$(curl -sS -H 'Content-Type: application/json' --data-binary "{\"text\": \"$review\"}" "$base/api/predict" |
    "$JQ" - /results/0/probability_positive) || fail "API request failed"
shown=$(echo "$label" | sed 's/^positive · \([0-9.]*\)%.*/\1/')
is_true 'd < 0.051 && d > -0.051' d="$(awk -v s="$shown" -v p="$p" 'BEGIN{print s - 100*p}')" ||
    fail "page shows $shown%, the API says p=$p"
words=$(grep -o '<span title="[-0-9.e]*" style="background: rgba([0-9, .]*);">[^<]*</span>' "$WORK/dom.html" |
    sed 's/.*">\([^<]*\)<\/span>/\1/' | tr '\n' ' ')
[[ $words == "a superb and brilliant film i loved it " ]] || fail "shaded words: '$words'"
grep -q 'rgba(58, 165, 93' "$WORK/dom.html" || fail "no word is shaded green"
pass "page: '$label' (API p=$p), 8 shaded words, result box and bar shown"

# a negative review: red label, the API's probability
chrome --dump-dom "$base/?text=a%20boring%20awful%20waste%20of%20time" >"$WORK/dom_negative.html" || fail "chromium failed"
grep -Eq '<div id="label" class="negative">negative · [0-9.]+% confident</div>' "$WORK/dom_negative.html" ||
    fail "negative review shows: $(grep -o '<div id="label"[^<]*' "$WORK/dom_negative.html")"
pass "negative review: $(grep -o 'negative · [0-9.]*% confident' "$WORK/dom_negative.html")"

# an empty review: a message instead of a result
chrome --dump-dom "$base/?text=%20%20" >"$WORK/dom_empty.html" || fail "chromium failed"
grep -q 'id="result" style="display: none;"' "$WORK/dom_empty.html" || fail "a result is shown for an empty review"
grep -q '<div id="error">Type or paste a review first.</div>' "$WORK/dom_empty.html" ||
    fail "the page does not ask for a review: $(grep -o '<div id="error">[^<]*' "$WORK/dom_empty.html")"
pass "empty review: the page asks for a review"

chrome --screenshot="$WORK/page.png" --window-size=1100,900 --hide-scrollbars "$url" >/dev/null ||
    fail "screenshot failed"
[[ -s $WORK/page.png ]] || fail "no screenshot written"
pass "screenshot: $WORK/page.png"
echo "PASSED: $checks checks"
