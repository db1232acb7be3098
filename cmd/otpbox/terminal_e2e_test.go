//go:build linux

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the master the test types into and
// reads from, and the terminal the command runs on.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// screen collects what a terminal shows and tells when it shows a text.
type screen struct {
	mu      sync.Mutex // protects buf
	buf     bytes.Buffer
	changed chan struct{} // receives after every read
}

func (s *screen) read(m *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := m.Read(b)
		s.mu.Lock()
		s.buf.Write(b[:n])
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// await waits until the screen shows text after offset from, and
// returns the offset after it.
func (s *screen) await(t *testing.T, from int, text string) int {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		all := s.buf.String()
		s.mu.Unlock()
		if i := strings.Index(all[from:], text); i >= 0 {
			return from + i + len(text)
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("the terminal does not show %q; it shows:\n%s", text, all[from:])
		}
	}
}

// TestREPLOnATerminal runs `otpbox repl` on a pseudo-terminal against a
// node: Ctrl-C typed while an execution runs (the terminal sends SIGINT)
// cancels the wait and the prompt comes back; the session goes on, and
// :quit leaves with status 0.
func TestREPLOnATerminal(t *testing.T) {
	bin := binary(t)
	p := startNode(t, bin, t.TempDir(), "--admin", "off")
	target, _ := url.Parse("http://" + p.http)
	arrived := make(chan struct{}, 1)
	proxy := httputil.NewSingleHostReverseProxy(target)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/exec") {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer ts.Close()
	if out, err := exec.Command(bin, "sandbox", "create", "s1", "--max-duration", "2s", "--max-steps", "100000000", "--addr", ts.URL).CombinedOutput(); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}

	master, tty := openPTY(t)
	defer master.Close()
	cmd := exec.Command(bin, "repl", "s1", "--addr", ts.URL)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	scr := &screen{changed: make(chan struct{}, 1)}
	go scr.read(master)
	defer func() { _ = cmd.Process.Kill() }()

	at := scr.await(t, 0, "sandbox s1: help() explains the sandbox's builtins, :quit leaves")
	at = scr.await(t, at, ">>> ")
	_, _ = master.WriteString(`help("kill")` + "\r")
	at = scr.await(t, at, "kill(pid) -> None")
	<-arrived // help's
	_, _ = master.WriteString("while True: pass\r")
	<-arrived
	_, _ = master.WriteString("\x03") // Ctrl-C
	at = scr.await(t, at, "interrupted: stopped waiting")
	at = scr.await(t, at, ">>> ")
	_, _ = master.WriteString("6 * 7\r")
	at = scr.await(t, at, "42")
	_, _ = master.WriteString("1 // 0\r")
	at = scr.await(t, at, "error: floored division by zero")
	at = scr.await(t, at, "    1 // 0")
	_, _ = master.WriteString(":quit\r")
	if err := cmd.Wait(); err != nil {
		t.Errorf("repl on a terminal exited with %v (an interactive session's errors do not fail it)", err)
	}
	_ = at

	// With no execution to cancel, Ctrl-C stops a command: a node drains
	// and exits 0, as on SIGTERM.
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	p.await(t, regexp.MustCompile(`msg="node stopped"`))
	if err := p.wait(); err != nil {
		t.Errorf("node exit after SIGINT = %v, want status 0", err)
	}
}
