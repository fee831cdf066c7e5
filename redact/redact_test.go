// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package redact

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

type staticKey string

func (k staticKey) Key() (string, error) { return string(k), nil }

type fileKey string

func (f fileKey) Key() (string, error) {
	b, err := os.ReadFile(string(f))
	return strings.TrimSpace(string(b)), err
}

func TestHandlerRedactsMessagesAttributesGroupsAndErrors(t *testing.T) {
	const key = "k3y-0123456789abcdef"
	secrets := &Secrets{}
	secrets.Set("alpha", staticKey(key))
	var buf testutil.LockedBuffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), slog.NewJSONHandler(&buf, nil)} {
		logger := slog.New(secrets.Handler(h)).With("bound", "Key "+key)
		echoed := fmt.Errorf("GET /v1/users: 401: {\"error\": \"bad header Authorization: Key %s\"}", key)
		logger.Error("Connect said: Key "+key, "err", echoed, "body", []byte(key), "n", 3,
			slog.Group("request", "authorization", "Key "+key, "wrapped", errors.Join(echoed)))
		logger.WithGroup("g").Warn("x", "header", "Key "+key)
		logger.Debug("debug", "v", key)
	}
	out := buf.String()
	if strings.Contains(out, key) {
		t.Fatalf("the key reached the log:\n%s", out)
	}
	if strings.Count(out, Mask) < 10 || !strings.Contains(out, "n=3") {
		t.Errorf("expected masks and untouched attributes:\n%s", out)
	}
}

func TestRotatedKeysAreRedactedToo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("first-key-aaaaaaaa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := &Secrets{}
	secrets.Set("alpha", fileKey(path))
	if got := secrets.String("x first-key-aaaaaaaa y"); got != "x "+Mask+" y" {
		t.Errorf("got %q", got)
	}
	if err := os.WriteFile(path, []byte("second-key-bbbbbbbb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := secrets.String("second-key-bbbbbbbb"); got != Mask {
		t.Errorf("rotated key: %q", got)
	}
	// A rebuilt server replaces its entry rather than adding one.
	secrets.Set("alpha", staticKey("third-key-cccccccc"))
	if got := secrets.String("second-key-bbbbbbbb third-key-cccccccc"); got != "second-key-bbbbbbbb "+Mask {
		t.Errorf("replaced source: %q", got)
	}
	// Short values are never treated as secrets (they would mask words).
	secrets.Set("beta", staticKey("abc"))
	if got := secrets.String("abcdef"); got != "abcdef" {
		t.Errorf("short key masked text: %q", got)
	}
	var nilSecrets *Secrets
	if nilSecrets.String("abc") != "abc" {
		t.Error("nil Secrets changed text")
	}
}
