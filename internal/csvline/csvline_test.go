// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package csvline

import (
	"errors"
	"strings"
	"testing"
)

func split(t *testing.T, line string, blanks bool) ([]string, error) {
	t.Helper()
	var out []string
	s := []byte(line)
	for {
		f, rest, sep, err := Next(s, blanks)
		if err != nil {
			return out, err
		}
		out = append(out, string(f))
		if !sep {
			return out, nil
		}
		s = rest
	}
}

func TestNext(t *testing.T) {
	for _, c := range []struct {
		line   string
		blanks bool
		want   string // fields joined by |
	}{
		{`1, ada , "x, ""y""" ,`, true, `1|ada|x, "y"|`},
		{`7,"a b",,"""q"""`, false, `7|a b||"q"`},
		{` "  pad  " `, true, `pad`},
		{``, false, ``},
	} {
		got, err := split(t, c.line, c.blanks)
		if err != nil || strings.Join(got, "|") != c.want {
			t.Errorf("%q (blanks %v): %q, %v; want %q", c.line, c.blanks, strings.Join(got, "|"), err, c.want)
		}
	}
	for _, bad := range []string{`"open`, `"a"b,c`, `a"b`} {
		if _, err := split(t, bad, true); !errors.Is(err, ErrQuote) {
			t.Errorf("%q: %v, want ErrQuote", bad, err)
		}
	}
	// Strictly, blanks count: a quote after a blank is inside an unquoted field.
	if got, err := split(t, `1, "x"`, false); !errors.Is(err, ErrQuote) {
		t.Errorf("strict %q: %v, %v; want ErrQuote", `1, "x"`, got, err)
	}
}
