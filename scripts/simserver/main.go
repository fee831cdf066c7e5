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
		files := sim.AuditLogDir(*auditLog)
		if err := files.Append(); err != nil {
			fmt.Fprintln(os.Stderr, "simserver:", err)
			os.Exit(1)
		}
		go func() {
			if err := files.Follow(ctx, time.Second); err != nil {
				fmt.Fprintln(os.Stderr, "simserver: appending to the audit log files:", err)
			}
		}()
	}
	fmt.Printf("%s generated in %s\n", sim.URL(), time.Since(start).Round(time.Millisecond))
	<-ctx.Done()
}
