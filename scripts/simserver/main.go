// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command simserver runs the simulated Connect server on loopback at a
// chosen scale, for benchmarks and load tests that need the exporter and
// Connect in separate processes. It prints the URL and writes the API key
// to a file; it stops on SIGINT or SIGTERM. --latency-per-request and
// --latency-per-row make it answer like a Connect whose database is slow.
// With -audit-log it also writes the server's audit log files, as a
// two-node cluster does (node 1 in TEXT, node 2 in JSON), appending what
// live activity audits.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
)

func main() {
	users := flag.Int("users", 100_000, "users")
	content := flag.Int("content", 10_000, "content items")
	sessions := flag.Int("shiny-sessions", 1_000_000, "historical Shiny sessions")
	visits := flag.Int("visits", 1_000_000, "historical visits")
	audit := flag.Int("audit", 100_000, "historical audit entries")
	keyFile := flag.String("key-file", "", "write the API key here (required)")
	live := flag.Duration("live", 0, "step live activity this often (0: no live activity)")
	perRequest := flag.Duration("latency-per-request", 0, "delay every answer by this much (a slow Connect database)")
	perRow := flag.Duration("latency-per-row", 0, "delay every answer by this much per row it returns")
	auditLog := flag.String("audit-log", "", "write the audit log files of two nodes into this directory (connect-1.audit.log, connect-2.audit.log)")
	flag.Parse()
	if *perRequest < 0 || *perRow < 0 {
		fmt.Fprintln(os.Stderr, "simserver: --latency-per-request and --latency-per-row must not be negative")
		os.Exit(2)
	}
	if *keyFile == "" {
		fmt.Fprintln(os.Stderr, "simserver: --key-file is required")
		os.Exit(2)
	}
	const key = "simserver-key"
	if err := os.WriteFile(*keyFile, []byte(key+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "simserver:", err)
		os.Exit(1)
	}
	start := time.Now()
	sim := connecttest.New(connecttest.Config{Seed: 1, Users: *users, Content: *content, Groups: *users / 200,
		ShinySessions: *sessions, Visits: *visits, AuditEntries: *audit, APIKey: key, Version: "2026.03.0",
		LicenseSeats: *users + *users/5, Latency: connecttest.Latency{PerRequest: *perRequest, PerRow: *perRow}})
	if err := sim.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "simserver:", err)
		os.Exit(1)
	}
	defer sim.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *live > 0 {
		go sim.RunLive(ctx, *live)
	}
	if *auditLog != "" {
		files := &auditFiles{sim: sim, dir: *auditLog}
		if err := files.write(); err != nil {
			fmt.Fprintln(os.Stderr, "simserver:", err)
			os.Exit(1)
		}
		go files.follow(ctx)
	}
	fmt.Printf("%s generated in %s\n", sim.URL(), time.Since(start).Round(time.Millisecond))
	<-ctx.Done()
}

// auditFiles appends the simulator's audit entries to its nodes' files.
type auditFiles struct {
	sim     *connecttest.Server
	dir     string
	written int64 // the last entry id written
}

var auditNodes = []connecttest.AuditLogFormat{connecttest.AuditLogText, connecttest.AuditLogJSON}

func (a *auditFiles) write() error {
	last := a.sim.LastAuditID()
	if last <= a.written {
		return nil
	}
	for node, format := range auditNodes {
		f, err := os.OpenFile(filepath.Join(a.dir, fmt.Sprintf("connect-%d.audit.log", node+1)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = a.sim.WriteAuditLog(f, connecttest.AuditLogOptions{Format: format, Nodes: len(auditNodes), Node: node, AfterID: a.written})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	a.written = last
	return nil
}

// follow appends every second until ctx ends.
func (a *auditFiles) follow(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.write(); err != nil {
				fmt.Fprintln(os.Stderr, "simserver: appending to the audit log files:", err)
				return
			}
		}
	}
}
