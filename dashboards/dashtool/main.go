// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command dashtool verifies the dashboards and alert rules against a live
// Prometheus and renders dashboard previews. It is driven by
// scripts/dashboards/live.sh and needs nothing but the standard library.
//
//	dashtool freeport                       print a free loopback TCP port
//	dashtool backfill [flags]               OpenMetrics history from one scrape
//	dashtool queries -prom URL -job RE      every panel and variable query returns data
//	dashtool alerts -prom URL -expect ...   rules healthy, exactly the expected alerts active
//	dashtool render -prom URL -uid UID ...  HTML preview laid out by gridPos
//	dashtool wblog -out FILE [-follow D]    synthetic Workbench session audit log
package main

import (
	"context"
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "freeport":
		err = freePort()
	case "backfill":
		err = backfill(args)
	case "queries":
		err = checkQueries(args)
	case "alerts":
		err = checkAlerts(args)
	case "render":
		err = render(args)
	case "wblog":
		err = wblog(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dashtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dashtool freeport|backfill|queries|alerts|render|wblog [flags]")
	os.Exit(2)
}

func freePort() error {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}
