// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"golang.org/x/crypto/bcrypt"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "posit_connect_exporter test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	_ = os.WriteFile(webConfig, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n",
		certFile, keyFile, hash), 0o600)
	addr := freeLoopbackPort(t)

	r := runExporter(t, "--demo", "--web.listen-address="+addr, "--web.config.file="+webConfig)
	defer func() {
		if code := r.stop(); code != 0 {
			t.Errorf("exit %d", code)
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait (bounded) for the listener.
	deadline := time.Now().Add(10 * time.Second)
	code, body := get("", "")
	for code == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code, body = get("", "")
	}
	if code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	if code, _ := get("prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, body := get("prometheus", "s3cret-pw"); code != http.StatusOK || !strings.Contains(body, "posit_connect_up 1") {
		t.Errorf("with credentials: %d", code)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served metrics although TLS is configured")
		}
	}
}

// TestKeyNeverLogged drives every failure the simulator can produce and
// checks the key appears nowhere: not in debug logs, errors, /metrics or
// the landing page.
func TestKeyNeverLogged(t *testing.T) {
	const key = "never-log-me-3f9a1c2b7d"
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 9, Users: 50, Content: 10, Groups: 2, APIKey: key, Version: "2026.03.0"}))
	keyFile := filepath.Join(t.TempDir(), "key")
	_ = os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	opts, err := parseOpts(t, "--connect.url="+sim.URL(), "--connect.api-key-file="+keyFile,
		"--connect.cache-ttl.server-settings=0s", "--connect.cache-ttl.users=0s", "--connect.cache-ttl.groups=0s",
		"--connect.cache-ttl.content=0s", "--connect.timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	s, logs := debugRoutes(t, opts)
	hs := newLoopbackServer(t, s.mux)

	var seen []string
	faults := []connecttest.Fault{
		{Kind: connecttest.FaultUnauthorized}, {Kind: connecttest.FaultForbidden},
		{Kind: connecttest.FaultRateLimited, RetryAfter: time.Second}, {Kind: connecttest.FaultServerError},
		{Kind: connecttest.FaultTruncatedJSON}, {Kind: connecttest.FaultProxyHTML}, {Kind: connecttest.FaultConnReset},
		{Kind: connecttest.FaultHugeBody, Size: 300 << 20}, {Kind: connecttest.FaultSlow, Delay: 3 * time.Second},
		{Kind: connecttest.FaultDown},
	}
	for _, f := range faults {
		sim.ClearFaults()
		sim.SetFault(f)
		body := scrapeBody(t, hs+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"1"}})
		seen = append(seen, string(body))
		if !strings.Contains(string(body), "posit_connect_up 0") && !strings.Contains(string(body), `success{collector="users"} 0`) {
			t.Errorf("%v: neither up nor users success is 0", f.Kind)
		}
	}
	sim.ClearFaults()
	seen = append(seen, string(scrapeBody(t, hs+"/metrics", nil)), string(scrapeBody(t, hs+"/", nil)))
	seen = append(seen, logs.String())
	for _, s := range seen {
		if strings.Contains(s, key) {
			t.Fatalf("the API key leaked:\n%s", s)
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Error("debug logging was not on; the check proves nothing")
	}
}

// debugRoutes builds the exporter's routes with a debug-level log, masked
// as run's is, closed when the test ends.
func debugRoutes(t *testing.T, opts *options) (*routes, *testutil.LockedBuffer) {
	t.Helper()
	logs := &testutil.LockedBuffer{}
	level := promslog.NewLevel()
	_ = level.Set("debug")
	secrets := &redact.Secrets{}
	rt, err := newRoutes(context.Background(), opts, newLogger(&promslog.Config{Level: level, Writer: logs}, secrets), secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.close)
	return rt, logs
}

func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

func TestWarnsWhenTheKeyWouldTravelInPlainText(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "plain-text-test-key")
	for url, warn := range map[string]bool{"http://connect.example.com": true, "https://connect.example.com": false, "http://127.0.0.1:3939": false} {
		opts, err := parseOpts(t, "--connect.url="+url)
		if err != nil {
			t.Fatal(err)
		}
		logs := &testutil.LockedBuffer{}
		secrets := &redact.Secrets{}
		s, err := newRoutes(context.Background(), opts, newLogger(&promslog.Config{Writer: logs}, secrets), secrets)
		if err != nil {
			t.Fatal(err)
		}
		s.close()
		if got := strings.Contains(logs.String(), "unencrypted over plain HTTP"); got != warn {
			t.Errorf("%s: warned %v, want %v\n%s", url, got, warn, logs.String())
		}
		if strings.Contains(logs.String(), "plain-text-test-key") {
			t.Errorf("the key leaked into the warning")
		}
	}
}

// TestKeyEchoedBackIsNeverLogged: a Connect or proxy that repeats the
// Authorization header in its error pages must not put the key in a log
// line, at any level.
func TestKeyEchoedBackIsNeverLogged(t *testing.T) {
	const key = "echoed-key-5b8e1f00c3a9"
	var status atomic.Int32
	status.Store(http.StatusUnauthorized)
	echo := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(int(status.Load()))
		fmt.Fprintf(w, "denied request with Authorization: %s (raw %q)", r.Header.Get("Authorization"), r.Header.Get("Authorization"))
	}))
	keyFile := filepath.Join(t.TempDir(), "key")
	_ = os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	opts, err := parseOpts(t, "--connect.url="+echo, "--connect.api-key-file="+keyFile,
		"--connect.cache-ttl.server-settings=0s", "--connect.cache-ttl.users=0s")
	if err != nil {
		t.Fatal(err)
	}
	rt, logs := debugRoutes(t, opts)
	hs := newLoopbackServer(t, rt.mux)
	for _, code := range []int32{http.StatusUnauthorized, http.StatusInternalServerError, http.StatusBadGateway, http.StatusForbidden} {
		status.Store(code)
		body := scrapeBody(t, hs+"/metrics", nil)
		if strings.Contains(string(body), key) {
			t.Fatalf("%d: the key is in /metrics", code)
		}
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("the echoing server produced no error and debug lines; the check proves nothing:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), key) {
		t.Fatalf("the echoed key was logged:\n%s", logs.String())
	}
}
