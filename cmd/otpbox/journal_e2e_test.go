package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpbox/otpbox/api"
)

// TestJournalQuotasEndToEnd repeats what made journals unbounded: large
// executions until the journal is full, then heavy ones, on a real node
// with the defaults; the node restarts and the sandbox comes back within
// its replay quota. The data directory stays within the quota, and the
// time of the first execution after the restart is logged (the quotas
// keep it near half a second at most on a 2-core machine). A sandbox
// whose state is plain data, and one with a supervision tree, go on past
// their quotas, their journals replaced by snapshots, and come back with
// their state.
func TestJournalQuotasEndToEnd(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	p := startNode(t, bin, dir, "--admin", "off")
	go func(lines <-chan string) {
		for range lines {
		}
	}(p.lines)
	c, err := api.NewClient(&api.Config{Address: "http://" + p.http, Retry: api.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	if _, err := c.Sandboxes().Create(ctx, "big", api.Requirements{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sandboxes().Create(ctx, "heavy", api.Requirements{Limits: api.Limits{MaxSteps: 100_000_000, MaxDuration: 30 * time.Second}}); err != nil {
		t.Fatal(err)
	}

	// 60 KB executions until the journal is full (a bound method among the
	// globals: no snapshot can make room).
	if _, err := c.Sandboxes().Exec(ctx, "big", "f = [].append"); err != nil {
		t.Fatal(err)
	}
	chunk := "s = '" + strings.Repeat("x", 60_000) + "'"
	accepted := 0
	for ; accepted < 2000; accepted++ {
		_, err := c.Sandboxes().Exec(ctx, "big", chunk)
		var e *api.Error
		if errors.As(err, &e) && e.Kind == api.ErrLimitExceeded && e.Limit == "journal" {
			break
		}
		if err != nil {
			t.Fatalf("execution %d: %v", accepted, err)
		}
	}
	if accepted == 0 || accepted == 2000 {
		t.Fatalf("%d large executions accepted; want the journal full after some", accepted)
	}
	info, err := c.Sandboxes().Info(ctx, "big")
	if err != nil || info.Journal == nil || info.Journal.Bytes > info.Journal.Limit {
		t.Fatalf("info = %+v, %v: want the journal within its limit", info, err)
	}
	if !strings.Contains(info.Journal.SnapshotBlocked, "global f cannot be written as source") {
		t.Errorf("snapshot_blocked = %q; want why: global f", info.Journal.SnapshotBlocked)
	}

	// The same in a sandbox of plain data: three times what the quota
	// holds, snapshotted whenever the journal is full.
	if _, err := c.Sandboxes().Create(ctx, "plain", api.Requirements{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * accepted {
		if _, err := c.Sandboxes().Exec(ctx, "plain", chunk+"\nn = "+strconv.Itoa(i)); err != nil {
			t.Fatalf("plain execution %d: %v", i, err)
		}
	}
	plain, err := c.Sandboxes().Info(ctx, "plain")
	if err != nil || plain.Journal == nil || plain.Journal.SnapshotSeq == 0 || plain.Journal.Bytes > plain.Journal.Limit {
		t.Fatalf("plain: info = %+v, %v: want a snapshot, and the journal within its limit", plain, err)
	}

	// And in a sandbox with a supervision tree (a worker written with
	// lambdas, as the language's examples are): its processes are
	// snapshotted with its globals.
	if _, err := c.Sandboxes().Create(ctx, "tree", api.Requirements{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sandboxes().Exec(ctx, "tree", `sup = start_supervisor(supervisor(children=[{"id": "c", "start": worker(init=lambda args: 0,
    handle_call=lambda msg, state: (state + 1, state + 1))}]))`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * accepted {
		if _, err := c.Sandboxes().Exec(ctx, "tree", chunk+"\ncall(whereis(sup, 'c'), 'inc')"); err != nil {
			t.Fatalf("tree execution %d: %v", i, err)
		}
	}
	tree, err := c.Sandboxes().Info(ctx, "tree")
	if err != nil || tree.Journal == nil || tree.Journal.SnapshotSeq == 0 || tree.Journal.Bytes > tree.Journal.Limit {
		t.Fatalf("tree: info = %+v, %v: want a snapshot, and the journal within its limit", tree, err)
	}

	// Heavy executions: the replay quota stops the one that would pass it.
	heavy := "t = 0\nfor i in range(10000000):\n    t += i"
	_, err = c.Sandboxes().Exec(ctx, "heavy", heavy)
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != 422 || e.Limit != "replay" {
		t.Fatalf("heavy execution = %v; want 422 limit_exceeded (replay)", err)
	}
	if _, err := c.Sandboxes().Exec(ctx, "heavy", "t = 0\nfor i in range(500000):\n    t += i"); err != nil {
		t.Fatalf("an execution within the quota: %v", err)
	}

	var size int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	t.Logf("%d large executions accepted, %d journal bytes; data directory %d MiB", accepted, info.Journal.Bytes, size>>20)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.exited; err != nil {
		t.Fatalf("node exit: %v", err)
	}
	p = startNode(t, bin, dir, "--admin", "off")
	go func(lines <-chan string) {
		for range lines {
		}
	}(p.lines)
	c2, err := api.NewClient(&api.Config{Address: "http://" + p.http, Retry: api.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for _, id := range []string{"big", "heavy", "plain", "tree"} {
		start := time.Now()
		if _, err := c2.Sandboxes().Tree(ctx, id); err != nil {
			t.Fatalf("%s after the restart: %v", id, err)
		}
		t.Logf("%s: first call after the restart took %v", id, time.Since(start).Round(time.Millisecond))
	}
	res, err := c2.Sandboxes().Exec(ctx, "heavy", "t")
	if err != nil || res.Value != "124999750000" {
		t.Fatalf("heavy after the restart: t = %+v, %v", res, err)
	}
	res, err = c2.Sandboxes().Exec(ctx, "plain", "n, len(s)")
	if want := "(" + strconv.Itoa(3*accepted-1) + ", 60000)"; err != nil || res.Value != want {
		t.Fatalf("plain after the restart: %+v, %v; want %s", res, err, want)
	}
	res, err = c2.Sandboxes().Exec(ctx, "tree", "call(whereis(sup, 'c'), 'inc')")
	if want := strconv.Itoa(3*accepted + 1); err != nil || res.Value != want {
		t.Fatalf("tree after the restart: %+v, %v; want %s", res, err, want)
	}
}
