package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/otpbox/otpbox/cmd/otpbox/internal/units"
)

// print writes v as JSON with --json, through the template with
// --format, and with human otherwise.
func (o *clientOpts) print(cmd *cobra.Command, v any, human func(w io.Writer) error) error {
	w := cmd.OutOrStdout()
	switch {
	case o.json:
		return printJSON(w, v)
	case o.format != "":
		return o.execute(cmd, w, []any{v})
	}
	return human(w)
}

// printItems is print for a list answer: --json prints whole (the API's
// answer), --format runs the template once per item.
func printItems[T any](o *clientOpts, cmd *cobra.Command, whole any, items []T, human func(w io.Writer) error) error {
	w := cmd.OutOrStdout()
	switch {
	case o.json:
		return printJSON(w, whole)
	case o.format != "":
		vs := make([]any, len(items))
		for i, it := range items {
			vs[i] = it
		}
		return o.execute(cmd, w, vs)
	}
	return human(w)
}

// templateFuncs are the functions --format templates may call.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"size": func(n any) string {
		switch x := n.(type) {
		case int64:
			return units.FormatSize(x)
		case uint64:
			return units.FormatSize(int64(x))
		case int:
			return units.FormatSize(int64(x))
		}
		return fmt.Sprint(n)
	},
	"join": strings.Join,
}

// execute runs the --format template on each value, each output ending
// with a newline.
func (o *clientOpts) execute(cmd *cobra.Command, w io.Writer, vs []any) error {
	t, err := template.New("format").Funcs(templateFuncs).Parse(o.format)
	if err != nil {
		return usage(cmd, "--format: %v", err)
	}
	for _, v := range vs {
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		out := b.String()
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		if _, err := io.WriteString(w, out); err != nil {
			return err
		}
	}
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
