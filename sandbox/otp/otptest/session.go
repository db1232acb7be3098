package otptest

import "strings"

// Chunk is one execution of a session transcript, as the docs and help
// show sessions: the code after ">>> " (and its "... " continuation
// lines), then what the REPL printed.
type Chunk struct {
	// Line is the 1-based line of the chunk's ">>> " in the transcript.
	Line int
	// Code is the code, prompts removed.
	Code string
	// Output is the lines printed: the execution's output and value,
	// or, when it failed, the first line of its error ("error: …").
	Output []string
}

// ParseSession splits a transcript into chunks. Lines before the first
// ">>> " are ignored.
func ParseSession(text string) []Chunk {
	var (
		out  []Chunk
		cur  *Chunk
		code []string
	)
	flush := func() {
		if cur != nil {
			cur.Code = strings.Join(code, "\n")
			out = append(out, *cur)
		}
	}
	for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, ">>> ") || l == ">>>":
			flush()
			cur = &Chunk{Line: i + 1}
			code = []string{strings.TrimPrefix(strings.TrimPrefix(l, ">>>"), " ")}
		case cur != nil && len(cur.Output) == 0 && (strings.HasPrefix(l, "... ") || l == "..."):
			code = append(code, strings.TrimPrefix(strings.TrimPrefix(l, "..."), " "))
		case cur != nil:
			cur.Output = append(cur.Output, l)
		}
	}
	flush()
	return out
}

// IsSession reports whether a code block is a session transcript: its
// first line is a ">>> " prompt.
func IsSession(block string) bool {
	return strings.HasPrefix(strings.TrimLeft(block, "\n"), ">>> ")
}
