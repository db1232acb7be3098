package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/otpbox/otpbox/supervision"
)

// listener is a supervised worker serving an http.Handler. Its init binds
// the socket, so a bind error fails the start; http.Server.Serve runs on
// a helper goroutine for as long as the actor lives. On Stopping it shuts
// the server down gracefully within grace (then closes it) and waits for
// Serve to return. If Serve fails on its own, the actor exits abnormally
// and its supervisor restarts it.
type listener struct {
	addr  string
	srv   func() *http.Server // a fresh server for each incarnation
	grace time.Duration
	bound func(net.Addr)                  // told the bound address of each incarnation
	wrap  func(net.Listener) net.Listener // nil: serve the socket as is

	server *http.Server
	cancel context.CancelFunc // of the requests' base context
	served chan struct{}      // closed when Serve returned
}

var _ supervision.Initializer = (*listener)(nil)

// serveFailed is sent by the Serve goroutine when Serve fails.
type serveFailed struct{ err error }

// Init binds the address and starts serving.
func (l *listener) Init(ctx actor.Context) error {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", l.addr, err)
	}
	// The requests' base context lives as long as this incarnation: it is
	// created here and cancelled in Stopping, after the graceful shutdown.
	base, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.server = l.srv()
	l.server.BaseContext = func(net.Listener) context.Context { return base }
	l.served = make(chan struct{})
	if l.bound != nil {
		l.bound(ln.Addr())
	}
	if l.wrap != nil {
		ln = l.wrap(ln)
	}
	system, self, srv, served := ctx.ActorSystem(), ctx.Self(), l.server, l.served
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			system.Root.Send(self, &serveFailed{err: err})
		}
	}()
	return nil
}

// Receive handles a Serve failure and the stop.
func (l *listener) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *serveFailed:
		supervision.Exit(ctx, supervision.Abnormal(fmt.Errorf("serve %s: %w", l.addr, m.err)))
	case *actor.Stopping:
		l.stop()
	}
}

func (l *listener) stop() {
	if l.server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.grace)
	defer cancel()
	if err := l.server.Shutdown(ctx); err != nil {
		_ = l.server.Close()
	}
	l.cancel()
	<-l.served
}
