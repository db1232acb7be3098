// Package repl gathers the lines of an interactive session into blocks of
// Starlark code: a line that ends with ':' opens a block that a blank line
// closes, and a line that leaves a bracket or a triple-quoted string open
// continues on the next line.
package repl
