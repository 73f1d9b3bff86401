package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The web app, end to end: the built binary serves it at /app/, and a real
// Chromium, allowed to reach nothing but that binary, registers, predicts,
// browses and charts the history, follows it live, records outcomes, reads
// the performance, and administers users. Each screen is saved as a
// screenshot (see tab.screenshot).

// appFeature is the model's feature as model { features } describes it.
type appFeature struct {
	Name, Field, Type, Description string
	Min, Max                       *float64
}

// chartData is a Chart.js chart's data, read from the page.
type chartData struct {
	Labels   []string
	Datasets []struct {
		Label string
		Data  []json.RawMessage
		// BackgroundColor is one colour, or one per bar.
		BackgroundColor json.RawMessage
	}
}

// okabeIto is the palette the charts draw with: one that readers with any
// common colour-vision deficiency tell apart (with a neutral grey).
var okabeIto = map[string]bool{
	"#0072B2": true, "#D55E00": true, "#E69F00": true, "#56B4E9": true,
	"#009E73": true, "#CC79A7": true, "#6b6b6b": true,
}

// chart reads the data of the chart drawn on the canvas selector names,
// waiting until it is drawn.
func chart(t *testing.T, tb *tab, selector string) chartData {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const c = document.querySelector(%q); const ch = c && Chart.getChart(c);
  return ch ? JSON.stringify({labels: ch.data.labels || [], datasets: ch.data.datasets.map((d) => ({label: d.label, data: d.data, backgroundColor: d.backgroundColor}))}) : ''; })()`, selector)
	var data chartData
	if err := json.Unmarshal([]byte(tb.waitFor(t, "the chart "+selector, expr)), &data); err != nil {
		t.Fatal(err)
	}
	return data
}

func text(t *testing.T, tb *tab, selector string) string {
	t.Helper()
	return eval[string](t, tb, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, selector))
}

// setValue sets a control's value as typing would, for the page's script
// to read at submit.
func setValue(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(selector), value)
}

func click(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(selector))
}

// createAdminWithBinary makes an administrator with the binary's own
// command line, on the database of the server running in dir.
func createAdminWithBinary(t *testing.T, dir, username, password string) {
	t.Helper()
	cmd := exec.Command(binary(t), "user", "create", "--admin", "--username", username, "--email", username+"@example.com")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create --admin: %v\n%s", err, out)
	}
}

func TestBrowserApp(t *testing.T) {
	chrome := startBrowser(t)
	t.Parallel()
	dir := t.TempDir()
	server := start(t, dir)
	createAdminWithBinary(t, dir, "root", "an admin's long passphrase")

	var model struct {
		Version  string
		Features []appFeature
	}
	server.post(t, "", `{ model { version features { name field type description min max } } }`).field(t, "model", &model)

	tb := openTab(t, chrome, server.base)
	tb.do(t, chromedp.Navigate(server.base+"/app"))
	tb.waitFor(t, "the sign-in form", `document.querySelector('#sign-in')`)
	if got := eval[string](t, tb, `location.pathname + location.hash`); got != "/app/#/signin" {
		t.Errorf("a visitor lands on %s, want /app/#/signin", got)
	}
	tb.screenshot(t, "app-signin.png")

	t.Run("register, refused then accepted", func(t *testing.T) {
		tb.do(t, click(`a[href="#/register"]`))
		tb.waitFor(t, "the registration form", `document.querySelector('#register')`)
		tb.do(t,
			setValue(`#register-username`, "a b"),
			setValue(`#register-email`, "ada@example.com"),
			setValue(`#register-password`, "short"),
			click(`#register button[type=submit]`))
		tb.waitFor(t, "the refusal", `document.querySelector('#register-password-error').textContent`)
		for _, f := range []string{"username", "password"} {
			if msg := text(t, tb, "#register-"+f+"-error"); !strings.Contains(strings.ToLower(msg), f) {
				t.Errorf("%s's message %q does not say what is wrong with it", f, msg)
			}
			if eval[string](t, tb, `document.querySelector('#register-`+f+`').getAttribute('aria-invalid')`) != "true" {
				t.Errorf("%s is not marked invalid", f)
			}
		}
		if msg := text(t, tb, "#register-email-error"); msg != "" {
			t.Errorf("the valid email has a message: %q", msg)
		}
		tb.screenshot(t, "app-register-refused.png")

		tb.do(t,
			setValue(`#register-username`, "ada"),
			setValue(`#register-password`, userPassword),
			click(`#register button[type=submit]`))
		tb.waitFor(t, "the predict screen", `document.querySelector('#predict-form')`)
		if name := text(t, tb, "#viewer-name"); name != "ada" {
			t.Errorf("signed in as %q, want ada", name)
		}
		if stored := eval[string](t, tb, `document.cookie`); stored != "" {
			t.Errorf("the app set cookies: %q", stored)
		}
	})
	token := eval[string](t, tb, `sessionStorage.getItem('mlapi.token') || ''`)
	if token == "" {
		t.Fatal("no token in sessionStorage after registering")
	}

	t.Run("predict form from the model", func(t *testing.T) {
		n := eval[int](t, tb, `document.querySelectorAll('#predict-form .field').length`)
		if n != len(model.Features) {
			t.Errorf("%d fields, want one per feature (%d)", n, len(model.Features))
		}
		for _, f := range model.Features {
			sel := "#feature-" + f.Field
			hint := text(t, tb, sel+"-hint")
			if !strings.Contains(hint, f.Description) {
				t.Errorf("%s's hint %q lacks the schema's description %q", f.Field, hint, f.Description)
			}
			if f.Type == "BOOLEAN" {
				if typ := eval[string](t, tb, `document.querySelector('`+sel+`').type`); typ != "checkbox" {
					t.Errorf("%s is a %s, want a checkbox", f.Field, typ)
				}
				continue
			}
			for attr, bound := range map[string]*float64{"min": f.Min, "max": f.Max} {
				got := eval[string](t, tb, `document.querySelector('`+sel+`').getAttribute('`+attr+`') || ''`)
				if v, err := strconv.ParseFloat(got, 64); bound != nil && (err != nil || v != *bound) {
					t.Errorf("%s's %s is %q, want the model's %v", f.Field, attr, got, *bound)
				}
			}
		}
	})

	fillSeed := func(t *testing.T) {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for field, v := range seedInput() {
			sel := "#feature-" + field
			if b, ok := v.(bool); ok {
				steps = append(steps, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).checked = %v`, sel, b)))
				continue
			}
			steps = append(steps, setValue(sel, fmt.Sprint(v)))
		}
		tb.do(t, steps...)
	}

	t.Run("refused input, in the browser and by the server", func(t *testing.T) {
		fillSeed(t)
		tb.do(t, setValue(`#feature-age`, "500"), click(`#predict-form button[type=submit]`))
		msg := tb.waitFor(t, "age's message", `document.querySelector('#feature-age-error').textContent`)
		if !strings.Contains(msg, "outside the accepted range") {
			t.Errorf("age 500: %q, want it outside the accepted range", msg)
		}
		if n := server.historyCount(t, token); n != 0 {
			t.Errorf("the browser's check sent the input anyway: %d requests logged", n)
		}
		// A page built for a model with other bounds: the server refuses,
		// and its message lands beside the field it names.
		tb.do(t, chromedp.Evaluate[chromedp.Void](`document.querySelector('#feature-age').removeAttribute('max')`),
			click(`#predict-form button[type=submit]`))
		var age appFeature
		for _, f := range model.Features {
			if f.Field == "age" {
				age = f
			}
		}
		if age.Min == nil || age.Max == nil {
			t.Fatalf("the model's age has no bounds: %+v", age)
		}
		serverRange := fmt.Sprintf("[%v, %v]", *age.Min, *age.Max) // as the server writes it
		msg = tb.waitFor(t, "the server's refusal", `document.querySelector('#feature-age').getAttribute('aria-invalid') === 'true' &&
  document.querySelector('#feature-age-error').textContent.includes('`+serverRange+`') && document.querySelector('#feature-age-error').textContent`)
		if !strings.Contains(msg, "500 is outside the accepted range") {
			t.Errorf("the server's message %q does not say why", msg)
		}
		if n := server.historyCount(t, token); n != 1 {
			t.Errorf("%d requests logged, want the refused one", n)
		}
		tb.screenshot(t, "app-predict-refused.png")
	})

	t.Run("prediction with its waterfall", func(t *testing.T) {
		want := server.predict(t, token) // the same input, through the API
		tb.do(t, setValue(`#feature-age`, "25"), click(`#predict-form button[type=submit]`))
		got := tb.waitFor(t, "the probability", `document.querySelector('#prediction:not([hidden]) #probability') && document.querySelector('#probability').textContent`)
		var p float64
		fmt.Sscan(want.YhatProb.String(), &p)
		if wantText := fmt.Sprintf("%.1f %%", p*100); got != wantText {
			t.Errorf("probability %q, want %q", got, wantText)
		}
		if label := text(t, tb, "#prediction-label"); !strings.Contains(label, fmt.Sprintf("class %d", want.Yhat)) {
			t.Errorf("label %q, want class %d", label, want.Yhat)
		}
		data := chart(t, tb, "#waterfall")
		if len(data.Labels) != len(want.Contributions)+2 || len(data.Datasets) != 1 {
			t.Fatalf("waterfall labels %q, want bias, %d features and the margin", data.Labels, len(want.Contributions))
		}
		spans := make([][2]float64, len(data.Datasets[0].Data))
		for i, raw := range data.Datasets[0].Data {
			if err := json.Unmarshal(raw, &spans[i]); err != nil {
				t.Fatal(err)
			}
		}
		var colours []string
		if err := json.Unmarshal(data.Datasets[0].BackgroundColor, &colours); err != nil {
			t.Fatalf("the waterfall's colours %s: %v", data.Datasets[0].BackgroundColor, err)
		}
		for i, c := range colours {
			if !okabeIto[c] {
				t.Errorf("bar %d is %s, not of the colour-blind-safe palette", i, c)
			}
		}
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-5 }
		if !near(spans[0][1], want.Bias) || !near(spans[len(spans)-1][1], want.Margin) {
			t.Errorf("the waterfall runs %v to %v, want bias %v to margin %v", spans[0], spans[len(spans)-1], want.Bias, want.Margin)
		}
		byFeature := map[string]float64{}
		for _, c := range want.Contributions {
			byFeature[c.Feature] = c.Value
		}
		prev := math.Inf(1)
		for i, span := range spans[1 : len(spans)-1] {
			step := span[1] - span[0]
			if math.Abs(step) > prev+1e-9 {
				t.Errorf("bar %d (%s) is larger than the one before: not sorted by size", i+1, data.Labels[i+1])
			}
			prev = math.Abs(step)
			matched := false
			for name, v := range byFeature {
				if strings.HasPrefix(data.Labels[i+1], humanize(name)+" = ") && near(step, v) {
					matched = true
				}
			}
			if !matched {
				t.Errorf("bar %q of %v matches no contribution %v", data.Labels[i+1], step, byFeature)
			}
		}
		tb.screenshot(t, "app-predict.png")
	})

	// More history, made by another client with the same account: a mix of
	// classes, so that filters have something to tell apart.
	inputs := varied(23)
	for _, in := range inputs {
		if resp := server.post(t, token, predictMutation, client.Var("in", in)); len(resp.Errors) > 0 {
			t.Fatalf("predict: %s", resp.Raw)
		}
	}
	total := server.historyCount(t, token) // 26: one refused, 25 predictions

	t.Run("history, paged and filtered, with charts", func(t *testing.T) {
		tb.do(t, click(`#nav a[data-screen=history]`))
		tb.waitFor(t, "the first page", `document.querySelectorAll('#history-rows tbody tr').length === 20`)
		if got, want := text(t, tb, "#history-summary"), fmt.Sprintf("Requests 1–20 of %d.", total); got != want {
			t.Errorf("summary %q, want %q", got, want)
		}
		tb.do(t, click(`#page-next`))
		tb.waitFor(t, "the second page", fmt.Sprintf(`document.querySelectorAll('#history-rows tbody tr').length === %d`, total-20))
		tb.do(t, click(`#page-prev`))
		tb.waitFor(t, "the first page again", `document.querySelector('#page-number').textContent === 'Page 1' && document.querySelectorAll('#history-rows tbody tr').length === 20`)

		var positives struct{ Requests struct{ TotalCount int } }
		server.post(t, token, `{ me { requests(filter: {yhat: 1}) { totalCount } } }`).field(t, "me", &positives)
		tb.do(t, setValue(`#filter-yhat`, "1"), click(`#history-filters button[type=submit]`))
		tb.waitFor(t, "the filtered page", fmt.Sprintf(`document.querySelector('#history-summary').textContent.endsWith(' of %d.')`, positives.Requests.TotalCount))
		labels := eval[[]string](t, tb, `[...document.querySelectorAll('#history-rows tbody tr td:nth-child(4)')].map((td) => td.textContent)`)
		if len(labels) == 0 || len(labels) != min(20, positives.Requests.TotalCount) {
			t.Errorf("%d rows for %d positive predictions", len(labels), positives.Requests.TotalCount)
		}
		for _, l := range labels {
			if l != "Death event" {
				t.Errorf("a row of the filtered history says %q", l)
			}
		}
		hist := chart(t, tb, "#histogram-chart")
		sum := 0
		for _, raw := range hist.Datasets[0].Data {
			var n int
			json.Unmarshal(raw, &n)
			sum += n
		}
		if sum != positives.Requests.TotalCount {
			t.Errorf("the histogram counts %d predictions, want the filter's %d", sum, positives.Requests.TotalCount)
		}
		tb.do(t, click(`#history-filters button[type=reset]`))
		tb.waitFor(t, "the whole history again", fmt.Sprintf(`document.querySelector('#history-summary').textContent.endsWith(' of %d.')`, total))
		line := chart(t, tb, "#timeline-chart")
		if len(line.Datasets) != 3 || len(line.Labels) == 0 {
			t.Errorf("timeline: %d datasets over %d buckets, want predictions, refusals and the mean", len(line.Datasets), len(line.Labels))
		}
		tb.screenshot(t, "app-history.png")
	})

	t.Run("export as CSV", func(t *testing.T) {
		downloads := t.TempDir()
		if _, err := chromedp.Call(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		}); err != nil {
			t.Fatal(err)
		}
		tb.do(t, click(`#export-csv`))
		path := filepath.Join(downloads, "mlapi-history.csv")
		var rows [][]string
		for range 600 { // 60 s at most: the download is a few kilobytes
			if f, err := os.Open(path); err == nil {
				rows, err = csv.NewReader(f).ReadAll()
				f.Close()
				if err == nil && len(rows) == total+1 {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(rows) != total+1 {
			t.Fatalf("the CSV has %d rows, want a header and %d requests", len(rows), total)
		}
		if !slices.Contains(rows[0], "yhat_prob") && !slices.Contains(rows[0], "yhatProb") {
			t.Errorf("the CSV's header %q names no probability", rows[0])
		}
	})

	t.Run("a prediction from another client appears live", func(t *testing.T) {
		tb.waitFor(t, "the live connection", `document.querySelector('#live-status.on')`)
		newest := server.predict(t, token)
		tb.waitFor(t, "the new row", fmt.Sprintf(`document.querySelector('#history-rows tbody tr').dataset.id === %q &&
  document.querySelector('#history-summary').textContent.endsWith(' of %d.')`, newest.RequestID, total+1))
		total++
	})

	t.Run("explanation of a row", func(t *testing.T) {
		tb.do(t, click(`#history-rows tbody tr:first-child button.explain`))
		data := chart(t, tb, `#history-rows tr.explanation canvas`)
		if len(data.Labels) != len(model.Features)+2 {
			t.Errorf("the row's waterfall has %d bars, want %d", len(data.Labels), len(model.Features)+2)
		}
	})

	t.Run("outcomes and performance", func(t *testing.T) {
		// A death for the newest row, survival for the next one.
		rows := `#history-rows tbody tr:not(.explanation)`
		tb.do(t, click(rows+`:nth-child(1) button.record-event`))
		tb.waitFor(t, "the first outcome", `document.querySelector('`+rows+` .recorded') && document.querySelector('`+rows+` .recorded').textContent === 'Death'`)
		tb.do(t, click(`#history-rows tbody tr:not(.explanation) button.record-survival`))
		tb.waitFor(t, "the second outcome", `document.querySelectorAll('`+rows+` .recorded').length === 2`)

		var perf struct {
			Performance struct {
				Count  int
				RocAuc *float64
				Roc    []struct{ FalsePositiveRate, TruePositiveRate float64 }
			}
		}
		server.post(t, token, `{ me { performance { count rocAuc roc { falsePositiveRate truePositiveRate } } } }`).field(t, "me", &perf)
		if perf.Performance.Count != 2 {
			t.Fatalf("the API counts %d outcomes, want the 2 recorded in the browser", perf.Performance.Count)
		}
		tb.do(t, click(`#nav a[data-screen=performance]`))
		tb.waitFor(t, "the figures", `document.querySelector('#performance-figures')`)
		figures := eval[[]string](t, tb, `[...document.querySelectorAll('#performance-figures dd')].map((d) => d.textContent)`)
		if len(figures) < 7 || figures[0] != "2" || figures[1] != "1" {
			t.Errorf("figures %q, want 2 outcomes, 1 death", figures)
		}
		if perf.Performance.RocAuc != nil && figures[6] != fmt.Sprintf("%.3f", *perf.Performance.RocAuc) {
			t.Errorf("ROC AUC %q, want %.3f", figures[6], *perf.Performance.RocAuc)
		}
		roc := chart(t, tb, "#roc-chart")
		if len(roc.Datasets[0].Data) != len(perf.Performance.Roc) {
			t.Errorf("the ROC chart has %d points, the API %d", len(roc.Datasets[0].Data), len(perf.Performance.Roc))
		}
		cal := chart(t, tb, "#calibration-chart")
		if len(cal.Datasets[0].Data) == 0 {
			t.Error("the calibration plot is empty")
		}
		tb.screenshot(t, "app-performance.png")
	})

	t.Run("every control is labelled", func(t *testing.T) {
		for _, screen := range []string{"predict", "history", "performance"} {
			tb.do(t, chromedp.Navigate(server.base+"/app/#/"+screen))
			tb.waitFor(t, "the "+screen+" screen", `document.querySelector('main').dataset.screen === '`+screen+`' && document.querySelector('main form, main dl')`)
			unlabelled := eval[[]string](t, tb, `[...document.querySelectorAll('input, select, button, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
  .map((el) => el.outerHTML.slice(0, 80))`)
			if len(unlabelled) > 0 {
				t.Errorf("%s: controls without a label: %q", screen, unlabelled)
			}
		}
	})

	t.Run("phone width", func(t *testing.T) {
		tb.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		for _, screen := range []string{"predict", "history"} {
			tb.do(t, chromedp.Navigate(server.base+"/app/#/"+screen))
			tb.waitFor(t, "the "+screen+" screen", `document.querySelector('main').dataset.screen === '`+screen+`' && document.querySelector('main form')`)
			if overflow := eval[int](t, tb, `document.documentElement.scrollWidth - window.innerWidth`); overflow > 0 {
				t.Errorf("%s: the page is %d px wider than a phone's screen", screen, overflow)
			}
			tb.screenshot(t, "app-phone-"+screen+".png")
		}
		tb.do(t, chromedp.EmulateViewport(1280, 900))
	})

	t.Run("an administrator disables a user", func(t *testing.T) {
		tb.do(t, chromedp.Navigate(server.base+"/app/#/predict"))
		tb.waitFor(t, "the sign-out button", `document.querySelector('#sign-out')`)
		tb.do(t, click(`#sign-out`))
		tb.waitFor(t, "the sign-in form", `document.querySelector('#sign-in')`)
		if server.tokenValid(t, token) {
			t.Error("ada's token still works after signing out")
		}
		if left := eval[string](t, tb, `sessionStorage.getItem('mlapi.token') || ''`); left != "" {
			t.Error("the token stayed in sessionStorage")
		}
		adaToken := server.token(t, "ada", userPassword)

		tb.do(t, setValue(`#signin-username`, "root"), setValue(`#signin-password`, "wrong password"), click(`#sign-in button[type=submit]`))
		msg := tb.waitFor(t, "the refusal", `!document.querySelector('#sign-in').hasAttribute('aria-busy') && document.querySelector('#sign-in .form-error').textContent`)
		if !strings.Contains(msg, "password") {
			t.Errorf("a wrong password is answered %q", msg)
		}
		// From the keyboard: Enter in the password field signs in.
		tb.do(t, chromedp.Evaluate[chromedp.Void](`document.querySelector('#signin-password').value = ''`), chromedp.SendKeys(chromedp.CSS(`#signin-password`), "an admin's long passphrase"+kb.Enter))
		tb.waitFor(t, "the administrators' link", `document.querySelector('#nav a[data-screen=admin]')`)
		tb.do(t, click(`#nav a[data-screen=admin]`))
		tb.waitFor(t, "the users", `document.querySelector('#users tr[data-username=ada] .toggle-enabled')`)
		if v := text(t, tb, "#model-version"); v != model.Version {
			t.Errorf("the served model's version is shown as %q, want %q", v, model.Version)
		}
		if n := text(t, tb, "#users-count"); n != "2 users" {
			t.Errorf("users count %q, want 2 users", n)
		}
		drift := chart(t, tb, "#drift-chart")
		if len(drift.Labels) != len(model.Features) {
			t.Errorf("drift for %d features, want %d", len(drift.Labels), len(model.Features))
		}
		perVersion := eval[int](t, tb, `document.querySelectorAll('#model-performance tbody tr').length`)
		if perVersion != 1 {
			t.Errorf("%d model versions with performance, want 1", perVersion)
		}
		tb.do(t, click(`#users tr[data-username=ada] .toggle-enabled`))
		tb.waitFor(t, "ada disabled", `document.querySelector('#users tr[data-username=ada] .status').textContent === 'Disabled'`)
		if got := server.post(t, adaToken, meQuery).code(); got != "UNAUTHENTICATED" {
			t.Errorf("disabled ada's token: %q, want UNAUTHENTICATED", got)
		}
		tb.screenshot(t, "app-admin.png")

		tb.do(t, click(`#users tr[data-username=ada] .toggle-enabled`))
		tb.waitFor(t, "ada enabled", `document.querySelector('#users tr[data-username=ada] .status').textContent === 'Enabled'`)
		adaToken = server.token(t, "ada", userPassword)
		tb.do(t, click(`#users tr[data-username=ada] .revoke`))
		tb.waitFor(t, "the revocation", `document.querySelector('#toast').textContent.includes('revoked')`)
		if server.tokenValid(t, adaToken) {
			t.Error("ada's token still works after the administrator revoked her tokens")
		}
		if n := eval[int](t, tb, `document.querySelectorAll('#users tr[data-username=root] button').length`); n != 0 {
			t.Errorf("the administrator's own row has %d buttons, want none", n)
		}
	})

	tb.checkStayedLocal(t)
}

// humanize is the app's label for a feature name (dom.js's humanize).
func humanize(name string) string {
	words := strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(name))
	return strings.ToUpper(words[:1]) + words[1:]
}

// varied returns n valid inputs spread over the features' ranges, so that
// both classes come out.
func varied(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		f := float64(i) / float64(max(1, n-1))
		out[i] = map[string]any{
			"age": 40 + 55*f, "creatininePhosphokinase": 100 + 2000*f, "ejectionFraction": 60 - 45*f,
			"platelets": 150000 + 200000*f, "serumCreatinine": 0.6 + 4*f, "serumSodium": 140 - 15*f,
			"sex": i%2 == 0, "highBloodPressure": i%3 == 0,
		}
	}
	return out
}
