package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otpbox/otpbox/api"
)

// CodeError is the failure of code run in a sandbox (a syntax error, a
// runtime error, a limit): the node's problem and the code it answered,
// to show the failing line.
type CodeError struct {
	Action  string // what was being done: "exec in sandbox s1"
	Problem *api.Error
	Code    string
}

// Error is the one-line error: the action and the problem.
func (e *CodeError) Error() string { return e.Action + ": " + e.Problem.Error() }

// Unwrap returns the problem.
func (e *CodeError) Unwrap() error { return e.Problem }

// Details returns the lines to show under the error: the failing line of
// the code with a caret under the column, then the backtrace.
func (e *CodeError) Details() string { return strings.Join(problemDetails(e.Code, e.Problem, 1), "\n") }

// detailer is an error with lines to show under its message.
type detailer interface{ Details() string }

// isCodeProblem reports whether p is about the code that ran (its
// syntax, an error it raised, a limit it hit), not about the node.
func isCodeProblem(p *api.Error) bool {
	return errors.Is(p, api.ErrSyntax) || errors.Is(p, api.ErrRuntime) || errors.Is(p, api.ErrLimitExceeded)
}

// problemHead is the first line the REPL prints for a failed execution:
// "syntax error: …", or "error: …" and the problem's detail.
func problemHead(p *api.Error) string {
	switch {
	case errors.Is(p, api.ErrSyntax):
		return "syntax error: " + p.Detail
	case isCodeProblem(p) && p.Detail != "":
		return "error: " + p.Detail
	}
	return "error: " + p.Error()
}

// problemDetails are the lines under a code problem: where it happened in
// code (whose first line is line first of the input) with the line and a
// caret under the column, then the backtrace of a runtime error.
func problemDetails(code string, p *api.Error, first int) []string {
	var out []string
	if line, col := problemPosition(p); line > 0 {
		out = append(out, excerpt(code, line, col, first)...)
	}
	if bt := strings.TrimRight(p.Backtrace, "\n"); bt != "" {
		out = append(out, strings.Split(bt, "\n")...)
	}
	return out
}

// problemPosition is where a problem happened in the code that ran: a
// syntax error's line and column, or for a runtime error the frame of the
// backtrace in that code (its <toplevel>, or <expr> for an expression:
// the frames inside functions may be in code run before).
func problemPosition(p *api.Error) (line, col int) {
	if p.Line > 0 {
		return p.Line, p.Col
	}
	for _, l := range strings.Split(p.Backtrace, "\n") {
		pos, fn, ok := strings.Cut(strings.TrimSpace(l), ": in ")
		if !ok || fn != "<toplevel>" && fn != "<expr>" {
			continue
		}
		parts := strings.Split(pos, ":")
		if len(parts) < 3 {
			continue
		}
		line, _ = strconv.Atoi(parts[len(parts)-2])
		col, _ = strconv.Atoi(parts[len(parts)-1])
	}
	return line, col
}

// excerpt shows line of code with a caret under col: "  at line 2, col
// 7:", the line, the caret. first is the input line number of code's
// first line.
func excerpt(code string, line, col, first int) []string {
	where := fmt.Sprintf("  at line %d", first+line-1)
	if col > 0 {
		where += fmt.Sprintf(", col %d", col)
	}
	lines := strings.Split(code, "\n")
	if line > len(lines) {
		return []string{where}
	}
	src := strings.TrimRight(lines[line-1], "\r")
	out := []string{where + ":", "    " + src}
	if col > 0 {
		var pad strings.Builder
		for i, r := range []rune(src) {
			if i >= col-1 {
				break
			}
			if r == '\t' {
				pad.WriteRune('\t')
			} else {
				pad.WriteRune(' ')
			}
		}
		out = append(out, "    "+pad.String()+"^")
	}
	return out
}

// problemJSON is a problem as --json prints it: every member the node
// sent.
func problemJSON(p *api.Error) map[string]any {
	m := map[string]any{"type": p.Type, "title": p.Title, "status": p.StatusCode}
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	if p.Limit != "" {
		m["limit"] = p.Limit
	}
	if p.Line > 0 {
		m["line"], m["col"] = p.Line, p.Col
	}
	if p.Backtrace != "" {
		m["backtrace"] = p.Backtrace
	}
	for k, v := range p.Extra {
		m[k] = json.RawMessage(v)
	}
	return m
}

// printProblem prints a failed execution as the REPL shows it: the head,
// then the failing line and the backtrace. prefix starts the head ("line
// 5: " for a piped script).
func printProblem(w io.Writer, prefix, code string, p *api.Error, first int) {
	fmt.Fprintln(w, prefix+problemHead(p))
	if isCodeProblem(p) {
		for _, l := range problemDetails(code, p, first) {
			fmt.Fprintln(w, l)
		}
	}
}
