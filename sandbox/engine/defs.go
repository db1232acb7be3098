package engine

import (
	"math"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A session remembers the source of the functions its globals hold, so
// that Dump can write them: the text of each top-level def statement
// that made one, where it stood in its chunk, and the names it mentions.
//
// A function is recorded when the chunk that defined it commits: such a
// chunk starts with a hidden def, $mod (see instrument), whose module is
// the chunk's, so that a function is known to come from this chunk (and
// not, say, from a container of an earlier one) by its module. Only a
// def written at the top level of its chunk, in column 1, is recorded:
// lambdas, nested defs and defs inside if or for blocks are not, and a
// global holding one is not plain. The texts kept are bounded by the
// session's MaxHeapBytes: past it, a new function is not recorded (and
// the session cannot be dumped while a global holds it).
type defSource struct {
	module *starlark.Module
	order  uint64 // commit order of its chunk
	line   int32  // of the def keyword; column 1
	text   string // the statement's lines
	names  []string
}

// noteDefs records the functions that the chunk code, whose module's
// globals are module, defined and committed. It is called after commit,
// with the session's lock held.
func (s *Session) noteDefs(code string, module starlark.StringDict) {
	marker, ok := module[nameModule].(*starlark.Function)
	if !ok {
		s.pruneDefs()
		return
	}
	mod := marker.Module()
	var f *syntax.File
	s.defOrder++
	for name, v := range module {
		fn, ok := v.(*starlark.Function)
		if !ok || isHidden(name) || fn.Module() != mod || fn.NumFreeVars() != 0 || s.globals[name] != v {
			continue
		}
		if _, known := s.defs[fn]; known {
			continue
		}
		pos := fn.Position()
		if pos.Col != 1 {
			continue
		}
		if f == nil {
			var err error
			if f, err = fileOptions.Parse(filename, code, 0); err != nil {
				return // cannot happen: the chunk compiled
			}
		}
		for _, st := range f.Stmts {
			d, ok := st.(*syntax.DefStmt)
			if !ok || d.Def.Line != pos.Line || d.Def.Col != 1 || d.Name.Name != fn.Name() {
				continue
			}
			start, end := d.Span()
			lines := strings.Split(code, "\n")
			if int(end.Line) > len(lines) {
				break
			}
			text := strings.Join(lines[start.Line-1:end.Line], "\n")
			if s.defBytes+int64(len(text)) > s.limits.MaxHeapBytes {
				break
			}
			if s.defs == nil {
				s.defs = make(map[*starlark.Function]*defSource)
			}
			s.defs[fn] = &defSource{module: mod, order: s.defOrder, line: start.Line, text: text, names: mentioned(d)}
			s.defBytes += int64(len(text))
			break
		}
	}
	s.pruneDefs()
}

// pruneDefs forgets the functions no global holds any more.
func (s *Session) pruneDefs() {
	live := make(map[*starlark.Function]bool, len(s.defs))
	for _, v := range s.globals {
		if fn, ok := v.(*starlark.Function); ok {
			live[fn] = true
		}
	}
	for fn, src := range s.defs {
		if !live[fn] {
			s.defBytes -= int64(len(src.text))
			delete(s.defs, fn)
		}
	}
}

// mentioned returns the identifiers a def statement mentions, sorted.
func mentioned(d *syntax.DefStmt) []string {
	seen := map[string]bool{}
	syntax.Walk(d, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok {
			seen[id.Name] = true
		}
		return true
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sameBinding reports whether a and b are one value: identical, floats
// to the bit (-0.0 is not 0.0).
func sameBinding(a, b starlark.Value) bool {
	if fa, ok := a.(starlark.Float); ok {
		fb, ok := b.(starlark.Float)
		return ok && math.Float64bits(float64(fa)) == math.Float64bits(float64(fb))
	}
	return identical(a, b)
}
