package repl

import "strings"

// Prompts of the two kinds of line.
const (
	Prompt     = ">>> "
	Continue   = "... "
	maxQuoteSz = 3
)

// Block accumulates lines until they form a complete chunk of code. The
// zero value is an empty block. A Block is not safe for concurrent use.
type Block struct {
	lines    []string
	depth    int    // open brackets
	quote    string // open string's quote: ", ', """ or ''' ("" when none)
	indented bool   // a line ended with ':' : only a blank line completes
}

// Add appends line and reports whether the block is complete. A blank
// line on an empty block completes nothing and is dropped.
func (b *Block) Add(line string) (complete bool) {
	blank := strings.TrimSpace(line) == ""
	if len(b.lines) == 0 && blank {
		return false
	}
	if blank && b.quote == "" && b.depth <= 0 {
		return true // a blank line ends an indented block
	}
	b.lines = append(b.lines, line)
	code := b.scan(line)
	if strings.HasSuffix(strings.TrimSpace(code), ":") && b.quote == "" {
		b.indented = true
	}
	return b.quote == "" && b.depth <= 0 && !b.indented && !strings.HasSuffix(code, "\\")
}

// Pending reports whether lines are waiting for the block to complete.
func (b *Block) Pending() bool { return len(b.lines) > 0 }

// Prompt returns the prompt for the next line.
func (b *Block) Prompt() string {
	if b.Pending() {
		return Continue
	}
	return Prompt
}

// Code returns the block's lines joined, and empties the block.
func (b *Block) Code() string {
	code := strings.Join(b.lines, "\n")
	*b = Block{}
	return code
}

// Reset empties the block.
func (b *Block) Reset() { *b = Block{} }

// scan updates the bracket depth and the open string for line and
// returns the line's code outside comments.
func (b *Block) scan(line string) string {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if b.quote != "" {
			switch {
			case c == '\\':
				i++ // skip the escaped character
			case strings.HasPrefix(line[i:], b.quote):
				i += len(b.quote) - 1
				b.quote = ""
			}
			continue
		}
		switch c {
		case '#':
			return strings.TrimRight(line[:i], " \t")
		case '"', '\'':
			q := string(c)
			if strings.HasPrefix(line[i:], strings.Repeat(q, maxQuoteSz)) {
				q = strings.Repeat(q, maxQuoteSz)
			}
			b.quote = q
			i += len(q) - 1
		case '(', '[', '{':
			b.depth++
		case ')', ']', '}':
			b.depth--
		}
	}
	if len(b.quote) == 1 {
		b.quote = "" // a single-quoted string ends with its line
	}
	return strings.TrimRight(line, " \t")
}
