// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// backfillSim is a simulated Connect with 40 days of history on the real
// clock (the backfill command ends now), and a file holding its key.
func backfillSim(t *testing.T) (*connecttest.Server, string) {
	t.Helper()
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 5, Users: 100, Content: 20, History: 40 * 24 * time.Hour,
		ShinySessions: 3000, Visits: 3000, AuditEntries: 1000, APIKey: testAPIKey}))
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte(testAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return sim, key
}

func TestBackfillCommandWritesHistoryAndState(t *testing.T) {
	sim, key := backfillSim(t)
	dir := t.TempDir()
	out, state := filepath.Join(dir, "history.om"), filepath.Join(dir, "state.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"backfill", "--since=7d", "--step=1h", "--output=" + out, "--state.file=" + state,
		"--connect.url=" + sim.URL(), "--connect.api-key-file=" + key, "--label=job=posit_connect", "--label=instance=connect-1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\n# EOF\n")) || !bytes.Contains(data, []byte(`,job="posit_connect",instance="connect-1"} `)) {
		t.Errorf("output:\n%.500s", data)
	}
	// 7 days at 1h: 169 samples per series, the first at --since.
	first := bytes.Count(data, []byte("\nposit_connect_audit_events_total{action=\"user_login\","))
	if first != 169 {
		t.Errorf("user_login has %d samples, want 169", first)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("no state file: %v", err)
	}
	if !strings.Contains(stderr.String(), "Backfill written") || strings.Contains(stderr.String(), testAPIKey) || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr:\n%s", stdout.String(), stderr.String())
	}
}

func TestBackfillCommandWithServersFile(t *testing.T) {
	sim, _ := backfillSim(t)
	state := filepath.Join(t.TempDir(), "a.json")
	path := testutil.WriteServersConfig(t, "", testutil.ServerEntry{Name: "a", URL: sim.URL(), Key: testAPIKey, YAML: "    state_file: " + state + "\n"},
		testutil.ServerEntry{Name: "b", URL: "http://127.0.0.1:1", Key: "other"})
	out := filepath.Join(t.TempDir(), "a.om")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"backfill", "--config.file=" + path, "--target=a", "--since=2d", "--output=" + out}, io.Discard, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{out, state} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"backfill", "--config.file=" + path, "--target=c", "--since=2d", "--output=" + out}, io.Discard, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), `--target: `+path+` lists no server "c" (it lists a, b)`) {
		t.Errorf("unknown target: exit %d, %s", code, stderr.String())
	}
}

func TestBackfillCommandBadFlags(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "")
	t.Setenv("CONNECT_SERVER", "")
	sim, key := backfillSim(t)
	out := filepath.Join(t.TempDir(), "out.om")
	conn := []string{"--connect.url=" + sim.URL(), "--connect.api-key-file=" + key}
	cases := map[string][]string{
		"--since: required":                                   {"--output=" + out},
		"--since: \"last year\" is neither a duration":        {"--since=last year", "--output=" + out},
		"--since: 2999-01-01T00:00:00Z is in the future":      {"--since=2999-01-01", "--output=" + out},
		"--output: required":                                  {"--since=1d"},
		"--step: not a valid duration string: \"often\"":      {"--since=1d", "--output=" + out, "--step=often"},
		"--label: \"job\" is not name=value":                  {"--since=1d", "--output=" + out, "--label=job"},
		"--target: needs --config.file":                       {"--since=1d", "--output=" + out, "--target=a"},
		"--web.listen-address is not used by the backfill":    {"--since=1d", "--output=" + out, "--web.listen-address=:1"},
		"--demo is not used by the backfill command":          {"--since=1d", "--output=" + out, "--demo"},
		"--collector.visits.ignore-user-agent: not a regular": {"--since=1d", "--output=" + out, "--collector.visits.ignore-user-agent=("},
	}
	for want, args := range cases {
		args = append(append([]string{"backfill"}, conn...), args...)
		var stderr bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, stderr.String(), want)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"backfill", "--since=1d", "--output=" + out}, io.Discard, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--connect.url: required") || !strings.Contains(stderr.String(), "--connect.api-key-file: no API key") {
		t.Errorf("no server: exit %d, %s", code, stderr.String())
	}
	// Connect refuses the key: exit 1, nothing written.
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("wrong-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"backfill", "--since=1d", "--output=" + out, "--connect.url=" + sim.URL(), "--connect.api-key-file=" + bad}, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "HTTP 401") || strings.Contains(stderr.String(), "wrong-key") {
		t.Errorf("rejected key: exit %d, %s", code, stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written after a failure: %v", err)
	}
}

// TestCommandsKeepTheExporterCommandLine: the exporter runs with its flags
// alone as before; --help, --version and backfill --help exit 0.
func TestCommandsKeepTheExporterCommandLine(t *testing.T) {
	for _, args := range [][]string{{"--demo"}, {"serve", "--demo"}} {
		app, opts := newApp()
		got, err := app.Parse(args)
		if err != nil || got != serveCommand || !opts.demo {
			t.Errorf("%v: command %q, %v", args, got, err)
		}
	}
	for args, want := range map[string]string{"--help": "backfill", "backfill --help": "--since", "--version": "posit_connect_exporter, version"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), strings.Fields(args), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String()+stderr.String(), want) {
			t.Errorf("%s: exit %d, output %q; want 0 and %q", args, code, stdout.String()+stderr.String(), want)
		}
	}
}

// TestREADMEBackfillFlagTable: the README's backfill flag table lists the
// command's flags and the exporter flags it takes, and nothing else.
func TestREADMEBackfillFlagTable(t *testing.T) {
	_, opts := newApp()
	documented := readmeTable(t, "### `backfill` flags")
	var flags []string
	for _, f := range opts.backfill.cmd.Model().Flags {
		if f.Name != "help" && f.Name != "help-long" && f.Name != "help-man" && f.Name != "version" {
			flags = append(flags, "--"+f.Name)
		}
	}
	flags = append(flags, prefixed(backfillSharedFlags)...)
	slices.Sort(flags)
	slices.Sort(documented)
	if !slices.Equal(flags, documented) {
		t.Errorf("README backfill flags %v, want %v", documented, flags)
	}
}
