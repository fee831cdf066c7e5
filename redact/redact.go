// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package redact keeps the exporter's own secrets (its Connect API keys)
// out of every text it logs or returns, whatever put them there: a server
// or proxy that echoes the Authorization header into an error page, a
// misconfigured URL, an error wrapping a request.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Mask replaces a secret.
const Mask = "[REDACTED]"

// minSecretLen keeps very short "keys" from masking ordinary words.
const minSecretLen = 8

// KeySource yields a secret; it is asked again on every use so a rotated
// key is redacted too.
type KeySource interface {
	Key() (string, error)
}

// Secrets is the set of secrets to redact, by owner (one per Connect
// server). It is safe for concurrent use.
type Secrets struct {
	mu      sync.RWMutex
	sources map[string]KeySource
}

// Set registers the secret source of owner, replacing its previous one
// (a server rebuilt on reload keeps one entry).
func (s *Secrets) Set(owner string, src KeySource) {
	if s == nil || src == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sources == nil {
		s.sources = map[string]KeySource{}
	}
	s.sources[owner] = src
}

func (s *Secrets) current() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, src := range s.sources {
		if k, err := src.Key(); err == nil && len(k) >= minSecretLen {
			out = append(out, k)
		}
	}
	return out
}

// String returns text with every secret replaced by Mask.
func (s *Secrets) String(text string) string {
	return replace(text, s.current())
}

func replace(text string, secrets []string) string {
	for _, k := range secrets {
		if strings.Contains(text, k) {
			text = strings.ReplaceAll(text, k, Mask)
		}
	}
	return text
}

// Handler wraps h so that no secret reaches it: in the message or in any
// attribute, however deeply grouped and whatever its type (errors are
// written out as text first).
func (s *Secrets) Handler(h slog.Handler) slog.Handler { return &handler{s: s, next: h} }

type handler struct {
	s    *Secrets
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	secrets := h.s.current()
	if len(secrets) == 0 {
		return h.next.Handle(ctx, r)
	}
	clean := slog.NewRecord(r.Time, r.Level, replace(r.Message, secrets), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		clean.AddAttrs(cleanAttr(a, secrets))
		return true
	})
	return h.next.Handle(ctx, clean)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	secrets := h.s.current()
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = cleanAttr(a, secrets)
	}
	return &handler{s: h.s, next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{s: h.s, next: h.next.WithGroup(name)}
}

func cleanAttr(a slog.Attr, secrets []string) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, replace(v.String(), secrets))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = cleanAttr(g, secrets)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		text := fmt.Sprint(v.Any())
		if b, ok := v.Any().([]byte); ok {
			text = string(b) // as text handlers write it
		}
		if cleaned := replace(text, secrets); cleaned != text {
			return slog.String(a.Key, cleaned)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
