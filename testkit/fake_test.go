package testkit_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeT is a testing.TB that records failures instead of reporting them, so
// that tests can prove testkit fails when it should. Like testing.T,
// Fatal*/FailNow end the calling goroutine: run the code under test with
// run. Methods testkit does not use panic (nil embedded TB).
type fakeT struct {
	testing.TB

	mu       sync.Mutex // protects errors and cleanups
	errors   []string
	cleanups []func()
}

func (f *fakeT) Helper()             {}
func (f *fakeT) Name() string        { return "fakeT" }
func (f *fakeT) Logf(string, ...any) {}
func (f *fakeT) Fail()               { f.Errorf("Fail") }
func (f *fakeT) FailNow()            { f.Fail(); runtime.Goexit() }
func (f *fakeT) Error(args ...any) {
	f.Errorf("%s", fmt.Sprint(args...))
}
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeT) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *fakeT) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeT) Failed() bool                      { return len(f.failures()) > 0 }
func (f *fakeT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeT) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

// run calls body on a new goroutine, as testing does, waits until it returns
// or calls FailNow, then runs the cleanups last in, first out.
func (f *fakeT) run(body func(t testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	for {
		f.mu.Lock()
		n := len(f.cleanups)
		if n == 0 {
			f.mu.Unlock()
			return
		}
		fn := f.cleanups[n-1]
		f.cleanups = f.cleanups[:n-1]
		f.mu.Unlock()
		done := make(chan struct{})
		go func() { defer close(done); fn() }() // a cleanup may call FailNow too
		<-done
	}
}

// failWith runs body with a fakeT and fails t unless body failed with a
// message containing every one of want.
func failWith(t *testing.T, body func(t testing.TB), want ...string) {
	t.Helper()
	f := &fakeT{}
	f.run(body)
	got := strings.Join(f.failures(), "\n")
	if got == "" {
		t.Fatalf("no failure reported, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("failure %q does not contain %q", got, w)
		}
	}
}

// runExample runs body with a fakeT standing in for an example's missing
// *testing.T, and prints any failure.
func runExample(body func(t testing.TB)) {
	f := &fakeT{}
	f.run(body)
	for _, e := range f.failures() {
		fmt.Println("FAIL:", e)
	}
}
