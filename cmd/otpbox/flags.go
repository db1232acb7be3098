package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/client"
)

// errHelp is returned after a command printed its help (-h).
var errHelp = flag.ErrHelp

// command is one subcommand's flag set and, for client commands, the
// flags that reach the node.
type command struct {
	m     *Main
	name  string // "sandbox exec"
	args  string // "ID [CODE]"
	fs    *flag.FlagSet
	addr  string
	token string
	json  bool
	wait  time.Duration
}

// newCommand returns a command whose help goes to Stderr.
func (m *Main) newCommand(name, args string) *command {
	c := &command{m: m, name: name, args: args, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(m.Stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: otpbox %s [flags] %s\n\nFlags:\n", name, args)
		c.fs.PrintDefaults()
	}
	return c
}

// clientFlags adds --addr, --token, --json and --timeout; defaults come
// from OTPBOX_ADDR and OTPBOX_TOKEN.
func (c *command) clientFlags() *command {
	addr := c.m.Getenv("OTPBOX_ADDR")
	if addr == "" {
		addr = client.DefaultAddr
	}
	c.fs.StringVar(&c.addr, "addr", addr, "node API address; env OTPBOX_ADDR")
	c.fs.StringVar(&c.token, "token", c.m.Getenv("OTPBOX_TOKEN"), "bearer token for mutating requests; env OTPBOX_TOKEN")
	c.fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	c.fs.DurationVar(&c.wait, "timeout", 30*time.Second, "deadline of each request")
	return c
}

// parse parses args, allowing flags after positional arguments ("sandbox
// exec ID --json CODE"); "--" ends the flags. It checks that between min
// and max positional arguments were given (max < 0: no limit).
func (c *command) parse(args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, err
		}
		rest := c.fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		c.fs.Usage()
		return nil, fmt.Errorf("otpbox %s takes %s: %w", c.name, c.args, ErrUsage)
	}
	return pos, nil
}

// client returns the API client for the command's flags.
func (c *command) client() (*client.Client, error) {
	return client.New(c.addr, c.token, &http.Client{Timeout: c.wait})
}

// output prints v as JSON with --json, and with human otherwise.
func (c *command) output(v any, human func(w io.Writer)) error {
	if c.json {
		return printJSON(c.m.Stdout, v)
	}
	human(c.m.Stdout)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table returns a tabwriter for aligned columns; Flush it.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// subcommand splits "sandbox create ..." into its verb and arguments.
func (m *Main) subcommand(group string, args []string, verbs string) (string, []string, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(m.Stderr, "Usage: otpbox %s %s\n", group, verbs)
		if len(args) == 0 {
			return "", nil, fmt.Errorf("otpbox %s needs one of %s: %w", group, verbs, ErrUsage)
		}
		return "", nil, errHelp
	}
	return args[0], args[1:], nil
}

func unknownVerb(group, verb, verbs string) error {
	return fmt.Errorf("unknown command %q for otpbox %s (one of %s): %w", verb, group, verbs, ErrUsage)
}
