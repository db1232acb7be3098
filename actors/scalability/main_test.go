package scalability_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestMain runs the test binary as a fake `otpbox node` when
// OTPBOX_FAKE_NODE=1 (the helper-process pattern), for ProcessProvider's
// tests.
func TestMain(m *testing.M) {
	if os.Getenv("OTPBOX_FAKE_NODE") == "1" {
		os.Exit(fakeNode(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeNode serves GET /v1/health/ready on the --http address until
// SIGTERM, then exits 0. It prints its pid, its arguments, every readiness
// answer and the SIGTERM to stdout. Environment:
//
//	OTPBOX_FAKE_EXIT=N         exit at once with code N
//	OTPBOX_FAKE_NOT_READY=N    answer 503 to the first N probes
//	OTPBOX_FAKE_NEVER_READY=1  always answer 503
//	OTPBOX_FAKE_IGNORE_TERM=1  ignore SIGTERM (only SIGKILL stops it)
func fakeNode(args []string) int {
	fmt.Printf("pid %d\n", os.Getpid())
	fmt.Printf("args: %q\n", args)
	if code := os.Getenv("OTPBOX_FAKE_EXIT"); code != "" {
		fmt.Fprintln(os.Stderr, "fake node failing on purpose")
		n, _ := strconv.Atoi(code)
		return n
	}
	addr := ""
	for i, a := range args {
		if a == "--http" && i+1 < len(args) {
			addr = args[i+1]
		}
	}
	notReady, _ := strconv.Atoi(os.Getenv("OTPBOX_FAKE_NOT_READY"))
	never := os.Getenv("OTPBOX_FAKE_NEVER_READY") == "1"
	var probes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health/ready", func(w http.ResponseWriter, _ *http.Request) {
		code := http.StatusOK
		if never || probes.Add(1) <= int64(notReady) {
			code = http.StatusServiceUnavailable
		}
		fmt.Printf("ready %d\n", code)
		w.WriteHeader(code)
	})
	srv := &http.Server{Addr: addr, Handler: mux}
	stop := make(chan os.Signal, 1)
	if os.Getenv("OTPBOX_FAKE_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(stop, syscall.SIGTERM)
	}
	go func() {
		<-stop
		fmt.Println("sigterm")
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	return 0
}
