package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	apiclient "github.com/otpbox/otpbox/api"
	"github.com/otpbox/otpbox/cmd/otpbox/internal/node"
	"github.com/otpbox/otpbox/sandbox/otp/otptest"
	"github.com/otpbox/otpbox/testkit"
)

var update = flag.Bool("update", false, "write the console's screenshots to docs/console")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testkit.LeakOptions()...) }

// startNode starts a real node in process on a free loopback port.
func startNode(t testing.TB, token string) string {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.HTTPAddr, cfg.AdminAddr, cfg.DataDir, cfg.Node = "127.0.0.1:0", "off", t.TempDir(), "n1"
	cfg.Token = token
	n, err := node.Start(cfg, node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + n.HTTPAddr()
}

// api sends a request to the node and fails the test unless it succeeds.
func api(t testing.TB, base, token, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
}

// browser starts Debian's chromium, headless, and returns a context for
// a tab of a browser context of its own (its own storage: another
// person). `make test` installs chromium (scripts/chromium.sh).
func browser(t testing.TB) func() context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if testing.Short() {
			t.Skip("chromium is not installed (scripts/chromium.sh install)")
		}
		t.Fatal("chromium is not installed: make test installs it with scripts/chromium.sh")
	}
	if _, err := os.Stat("/usr/lib/chromium/chromium"); err == nil {
		path = "/usr/lib/chromium/chromium" // Debian's binary, without its launcher script
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000))
	// A browser that exits while it starts (it happens under load on a
	// small machine) is started again, twice at most.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(actx)
		err := chromedp.Do(ctx) // starts the browser
		if err == nil {
			bctx = ctx
			t.Cleanup(func() {
				cancelBrowser()
				cancelAlloc()
			})
			break
		}
		cancelBrowser()
		cancelAlloc()
		if attempt == 3 {
			t.Fatalf("start chromium: %v", err)
		}
		t.Logf("chromium did not start (attempt %d): %v", attempt, err)
	}
	return func() context.Context {
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run on a context opens its tab, which lives as long
		// as that run's context: not one with a deadline.
		require.NoError(t, chromedp.Do(ctx))
		return ctx
	}
}

// step is one action on a tab.
type step = chromedp.Action[chromedp.Void]

// run runs steps in tab within a deadline.
func run(t testing.TB, tab context.Context, steps ...step) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		dump, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		page, _ := chromedp.Run(dump, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 3000)`))
		t.Fatalf("%v; the page:\n%s", err, page)
	}
}

// get runs a with a value in tab within a deadline.
func get[T any](t testing.TB, tab context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) step {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// until waits for the page's expression to be true.
func until(expr string) step {
	return void(chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
}

func eval(expr string) step { return void(chromedp.Evaluate[any](expr)) }

func click(sel string) step { return chromedp.Click(chromedp.CSS(sel)) }

// as opens the console at hash as viewer. (A navigation that changes
// only the hash loads no document: go there from another page.)
func as(base, viewer, hash string) step {
	return chromedp.Steps(
		chromedp.Navigate(base+"/ui/vendor/codemirror/VERSION"),
		eval(fmt.Sprintf(`localStorage.setItem("otpbox.viewer", %q)`, viewer)),
		chromedp.Navigate(base+"/ui/"+hash),
	)
}

// goTo moves the open console to hash.
func goTo(hash string) step { return eval(fmt.Sprintf(`location.hash = %q`, hash)) }

// typeCode puts code in the editor and runs it.
func typeCode(code string) step {
	q, _ := json.Marshal(code)
	return chromedp.Steps(eval(fmt.Sprintf(`window.editor.setValue(%s)`, q)), click("#run"))
}

// readmeExample is the README's supervision example, then a call.
const readmeExample = otptest.ReadmeTree + `call(whereis(sup, "c"), "inc")`

const live = `document.getElementById("stream-state") && document.getElementById("stream-state").textContent === "live"`

func TestConsoleRunsTheReadmeExampleAndRestartsAWorker(t *testing.T) {
	base := startNode(t, "")
	api(t, base, "", "POST", "/v1/sandboxes", `{"id":"demo"}`)
	tab := browser(t)()
	run(t, tab, as(base, "ann", "#/s/demo"), until(live), typeCode(readmeExample),
		until(`document.querySelector('.proc[data-id="c"]') !== null`),
		until(`[...document.querySelectorAll("#output .entry pre.value")].some(e => e.textContent === "1")`))
	pid := get(t, tab, chromedp.Evaluate[string](`document.querySelector('.proc[data-id="c"]').dataset.pid`))
	run(t, tab, click(`.proc[data-id="c"]`),
		until(`document.querySelector('#process-info td[data-key="state"]') && document.querySelector('#process-info td[data-key="state"]').textContent === "1"`),
		click(`button[data-action="kill"]`),
		until(fmt.Sprintf(`(() => { const c = document.querySelector('.proc[data-id="c"]'); return c && c.dataset.restarts === "1" && c.dataset.pid !== %q })()`, pid)),
		until(`document.querySelectorAll("svg.timeline circle.mark").length === 1`),
		// Its state is fresh after the restart: the details show it.
		until(`document.querySelector('#process-info td[data-key="state"]') && document.querySelector('#process-info td[data-key="state"]').textContent === "0"`),
	)
	// The kill ran as code, which the other execution list shows too.
	codes := get(t, tab, chromedp.Text(chromedp.CSS("#output")))
	require.NotContains(t, codes, "error")

	// An error marks its line in the editor.
	run(t, tab, typeCode("x = 1\ny = x / 0"),
		until(`document.querySelector(".cm-error-mark") !== null`),
		until(`[...document.querySelectorAll("#output .entry.failed")].some(e => e.textContent.includes("line 2"))`))
}

func TestConsoleTwoViewersSeeEachOther(t *testing.T) {
	base := startNode(t, "")
	api(t, base, "", "POST", "/v1/sandboxes", `{"id":"pair"}`)
	newTab := browser(t)
	alice, bob := newTab(), newTab()
	run(t, alice, as(base, "alice", "#/s/pair"), until(live))
	run(t, bob, as(base, "bob", "#/s/pair"), until(live))
	run(t, alice, until(`document.getElementById("viewers").textContent.includes("bob")`))
	run(t, bob, until(`document.getElementById("viewers").textContent.includes("alice")`))

	run(t, bob, typeCode("x = 41\nx + 1"))
	run(t, alice, until(`[...document.querySelectorAll('#output .entry[data-by="bob"]')].some(e => e.textContent.includes("42"))`))
	run(t, alice, typeCode(`start_supervisor(supervisor(children=[{"id": "w", "start": worker()}]))`))
	run(t, bob, until(`document.querySelector('.proc[data-id="w"]') !== null`),
		until(`document.querySelector('#output .entry[data-by="alice"]') !== null`))
}

func TestConsoleLogsInWithTheToken(t *testing.T) {
	base := startNode(t, "s3cret")
	api(t, base, "s3cret", "POST", "/v1/sandboxes", `{"id":"guarded"}`)
	tab := browser(t)()
	run(t, tab, chromedp.Navigate(base+"/ui/"),
		until(`!document.getElementById("login").hidden`),
		chromedp.SendKeys(chromedp.CSS("#token"), "wrong"),
		click("#login-button"),
		until(`document.getElementById("login-error").textContent.includes("not accepted")`),
		chromedp.SetValue(chromedp.CSS("#token"), "s3cret"),
		click("#login-button"),
		until(`document.getElementById("login").hidden`),
		until(`document.querySelector('tr[data-id="guarded"]') !== null`),
	)
	// And the sandbox's stream runs with it.
	run(t, tab, goTo("#/s/guarded"), until(live))
}

// TestScreenshots writes the main views to docs/console with -update.
func TestScreenshots(t *testing.T) {
	if !*update {
		t.Skip("go test -run TestScreenshots -update writes docs/console/*.png")
	}
	base := startNode(t, "")
	api(t, base, "", "POST", "/v1/sandboxes", `{"id":"demo"}`)
	api(t, base, "", "POST", "/v1/sandboxes", `{"id":"scratch"}`)
	tab := browser(t)()
	dir := filepath.Join("..", "..", "..", "..", "docs", "console")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	shot := func(name string) step {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			b, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), b, 0o644)
		})
	}
	run(t, tab, as(base, "ann", "#/"), until(`document.querySelector('tr[data-id="demo"]') !== null`), shot("sandboxes.png"))
	run(t, tab, goTo("#/s/demo"), until(live), typeCode(readmeExample),
		until(`document.querySelector('.proc[data-id="c"]') !== null`),
		typeCode(`cast(whereis(sup, "c"), "crash")`),
		until(`document.querySelector('.proc[data-id="c"]').dataset.restarts === "1"`),
		click(`.proc[data-id="c"]`), until(`document.getElementById("process-info") !== null`),
		typeCode("call(whereis(sup, \"c\"), \"inc\")"),
		until(`document.querySelectorAll("#output .entry").length === 3`),
		shot("sandbox.png"))
	run(t, tab, goTo("#/cluster"), until(`document.querySelector("#node-figures table") !== null`), shot("cluster.png"))
}

// BenchmarkDrawTree64 draws a tree of 64 processes (a supervisor and 63
// workers, the default max_actors) in the browser and reports the time
// of one drawing.
func BenchmarkDrawTree64(b *testing.B) {
	base := startNode(b, "")
	api(b, base, "", "POST", "/v1/sandboxes", `{"id":"big"}`)
	api(b, base, "", "POST", "/v1/sandboxes/big/exec", `{"code":"t = start_supervisor(supervisor(children=[{\"id\": \"w%d\" % i, \"start\": worker(init=lambda a: {\"n\": 0})} for i in range(63)]))"}`)
	tab := browser(b)()
	run(b, tab, as(base, "bench", "#/s/big"), until(live), until(`window.__otpboxTreeDraw && window.__otpboxTreeDraw.count === 64`))
	var total float64
	b.ResetTimer()
	for range b.N {
		r := get(b, tab, chromedp.Evaluate[struct {
			Count int     `json:"count"`
			MS    float64 `json:"ms"`
		}](`window.__otpboxRedraw()`))
		if r.Count != 64 {
			b.Fatalf("drew %d processes, want 64", r.Count)
		}
		total += r.MS
	}
	b.ReportMetric(total/float64(b.N), "ms/draw")
}

// TestConsoleWatchesASandboxOnAnotherMember: on a three-node cluster
// (Consul, Redis, three `otpbox node` processes), the console of one
// member shows a sandbox that another member hosts, live: its own
// executions and actions relayed there, another person's executions
// through the host member, and who is watching through either.
func TestConsoleWatchesASandboxOnAnotherMember(t *testing.T) {
	c := testkit.StartCluster(t, testkit.ClusterConfig{Members: 3, Name: "console"})
	ctx := context.Background()
	n1 := c.Client("n1")
	var id, host string
	for i := 0; host == "" || host == "n1"; i++ {
		require.Less(t, i, 20, "no sandbox was placed off n1")
		id = fmt.Sprintf("remote-%d", i)
		info, err := n1.Sandboxes().Create(ctx, id, apiclient.Requirements{})
		require.NoError(t, err)
		host = info.Node
	}
	newTab := browser(t)
	ann, bob := newTab(), newTab()
	run(t, ann, as(c.Member("n1").URL(), "ann", "#/s/"+id), until(live), typeCode(readmeExample),
		until(`document.querySelector('.proc[data-id="c"]') !== null`))
	run(t, bob, as(c.Member(host).URL(), "bob", "#/s/"+id), until(live),
		until(`document.querySelector('.proc[data-id="c"]') !== null`))
	run(t, ann, until(`document.getElementById("viewers").textContent.includes("bob")`))

	// bob, on the host, runs code; ann, on n1, sees it.
	run(t, bob, typeCode(`call(whereis(sup, "c"), "inc")`))
	run(t, ann, until(`[...document.querySelectorAll('#output .entry[data-by="bob"]')].some(e => e.textContent.includes("→ 2") || e.querySelector("pre.value").textContent === "2")`))

	// ann kills the worker from n1; both see it restart.
	run(t, ann, click(`.proc[data-id="c"]`), until(`document.getElementById("process-info") !== null`),
		click(`button[data-action="kill"]`),
		until(`document.querySelector('.proc[data-id="c"]').dataset.restarts === "1"`))
	run(t, bob, until(`document.querySelector('.proc[data-id="c"]').dataset.restarts === "1"`))
}
