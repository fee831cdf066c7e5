// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// auditDirNodes are the formats of the two nodes an AuditLogDir writes.
var auditDirNodes = []AuditLogFormat{AuditLogText, AuditLogJSON}

// AuditLogDir keeps the audit log files of a two-node cluster in a
// directory, node 1 in TEXT (connect-1.audit.log) and node 2 in JSON
// (connect-2.audit.log), in step with the server's audit entries.
type AuditLogDir struct {
	sim     *Server
	dir     string
	written int64 // the last entry id written
}

// AuditLogDir returns the files of dir; nothing is written until Append.
func (s *Server) AuditLogDir(dir string) *AuditLogDir { return &AuditLogDir{sim: s, dir: dir} }

// Glob matches the files.
func (a *AuditLogDir) Glob() string { return filepath.Join(a.dir, "*.audit.log") }

// Append writes the entries audited since the last Append.
func (a *AuditLogDir) Append() error {
	last := a.sim.LastAuditID()
	if last <= a.written {
		return nil
	}
	for node, format := range auditDirNodes {
		f, err := os.OpenFile(filepath.Join(a.dir, fmt.Sprintf("connect-%d.audit.log", node+1)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = a.sim.WriteAuditLog(f, AuditLogOptions{Format: format, Nodes: len(auditDirNodes), Node: node, AfterID: a.written})
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

// Follow appends every interval until ctx ends (nil) or an Append fails.
func (a *AuditLogDir) Follow(ctx context.Context, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := a.Append(); err != nil {
				return err
			}
		}
	}
}
